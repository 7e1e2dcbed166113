/**
 * One place that owns an actor worker's life: spawn, the comlink proxy, and what happens
 * when it throws, exits or stops answering. Every call to a worker goes through `call`,
 * which turns each of those into an ActorFailureError naming the actor, the phase, its last
 * service and its stack. A worker that failed is never respawned.
 */
import * as Comlink from 'comlink';
import type { Worker } from 'node:worker_threads';
import { actorLoad } from '../../shared/actor_record.js';
import type { Layout } from '../../shared/layout.js';
import {
  type ActorFailure,
  type ActorStartup,
  type ActorWorkerApi,
  postMail,
  TERMINATE_ME,
} from '../../shared/protocol.js';
import { serviceNameOf } from '../../shared/services/index.js';
import { nodeEndpoint } from '../../workers/endpoint.js';

import { spawnWorker } from '../../workers/spawn.js';
import { AC } from '../../shared/layout.js';

export class ActorFailureError extends Error {
  override name = 'ActorFailureError';
  constructor(readonly failure: ActorFailure) {
    super(`${failure.actor} ${failure.kind} during ${failure.phase}: ${failure.message}`);
  }
}

export class ActorHandle {
  readonly worker: Worker;
  readonly api: Comlink.Remote<ActorWorkerApi>;
  name: string;
  actor = -1;
  /** The VM a VM actor runs (set when its VM is created); 0 for a device. */
  vmHandle = 0;
  initOrder = 0;
  hasInterrupt = false;
  hasStep = false;
  private exited: Promise<never>;
  private stopping = false;
  /** The worker asked to be terminated (an injected `terminate` fault) and was. */
  private terminatedByFault = false;

  constructor(
    private readonly layout: Layout,
    readonly startup: ActorStartup,
    label: string,
  ) {
    this.name = label;
    // A JSON scenario runs the built-in models in the bundle; a scenario module imports
    // 'vmmsim', so its worker starts from the package's own modules (see spawnWorker).
    this.worker = spawnWorker(
      'actor_worker',
      { ...startup },
      { bundled: startup.scenario.kind === 'json' },
    );
    this.api = Comlink.wrap<ActorWorkerApi>(nodeEndpoint(this.worker));
    this.worker.on('message', (message: unknown) => {
      if (message !== TERMINATE_ME || this.stopping) return;
      this.terminatedByFault = true;
      void this.worker.terminate();
    });
    this.exited = new Promise<never>((_, reject) => {
      this.worker.once('exit', (code) => {
        if (this.stopping) return;
        if (this.terminatedByFault)
          reject(this.failure('terminated', 'worker terminate()d by its coordinator', ''));
        else reject(this.failure('exited', `worker exited with code ${code}`, ''));
      });
      this.worker.once('error', (error: Error) => {
        reject(this.failure('crashed', error.message, error.stack ?? ''));
      });
    });
    this.exited.catch(() => undefined); // observed through call(); never unhandled
  }

  /** Runs one control-plane call, bounded by `timeoutMs` (0: no bound). */
  async call<T>(
    phase: string,
    timeoutMs: number,
    fn: (api: Comlink.Remote<ActorWorkerApi>) => Promise<T>,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const bound =
      timeoutMs > 0
        ? new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(this.failure('hung', `no answer for ${timeoutMs} ms`, '', phase)),
              timeoutMs,
            );
          })
        : new Promise<never>(() => undefined);
    // Tells a running worker that a call is on its way: it yields to its event loop until it
    // has taken as many calls as were sent (actor_worker.ts), and otherwise keeps stepping.
    if (this.actor >= 0) postMail(this.layout, this.actor);
    try {
      return await Promise.race([fn(this.api), this.exited, bound]);
    } catch (error) {
      if (error instanceof ActorFailureError) throw this.withPhase(error, phase);
      const e = error as { message?: string; stack?: string };
      throw this.failure('threw', e.message ?? String(error), e.stack ?? '', phase);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The service this actor last called, from its slot in the buffer. */
  lastService(): string {
    if (this.actor < 0) return '(none)';
    return serviceNameOf(actorLoad(this.layout, this.actor, AC.lastService));
  }

  failure(
    kind: ActorFailure['kind'],
    message: string,
    stack: string,
    phase = '(unknown)',
  ): ActorFailureError {
    return new ActorFailureError({
      actor: this.name,
      phase,
      lastService: this.lastService(),
      message,
      stack,
      kind,
    });
  }

  private withPhase(error: ActorFailureError, phase: string): ActorFailureError {
    if (error.failure.phase !== '(unknown)') return error;
    return new ActorFailureError({ ...error.failure, phase });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.worker.terminate();
  }
}
