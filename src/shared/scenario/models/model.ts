/** What every built-in device model's factory does once its options are checked. */
import {
  defineDevice,
  type DeviceActor,
  type DeviceDefinition,
  type DeviceProgram,
} from '../scenario.js';

/** A device model's definition: named and ordered by its checked options, which it keeps. */
export function modelDevice(
  o: { name: string; initOrder: number },
  create: (dev: DeviceActor) => DeviceProgram,
): DeviceDefinition {
  return defineDevice({ name: o.name, initOrder: o.initOrder, options: o, create });
}
