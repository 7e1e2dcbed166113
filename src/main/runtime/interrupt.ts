/**
 * Ctrl-C for long commands (run, hunt): the first SIGINT or SIGTERM aborts a signal the
 * command watches, so it can stop its workers, keep what it has and report it; a second one
 * ends the program at once with exit code 130. Not a general signal library.
 */

/** Watches SIGINT and SIGTERM until `dispose`; `what` names the work in the message. */
export function interruptOnSignals(what: string): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${name}: stopping the ${what} (again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dispose = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  return { signal: controller.signal, dispose };
}
