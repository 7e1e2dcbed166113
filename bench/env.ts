/**
 * The environment a benchmark run is recorded with (STYLE.md: "record Node version, CPU,
 * core count, options and commit next to every result"), so that two runs can be compared
 * honestly — or seen not to be comparable. It measures nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/main/runtime/run_scenario.js';

export interface BenchEnvironment {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  cpu: string;
  /** Logical cores the OS reports (os.availableParallelism). */
  cores: number;
  memoryGiB: number;
  commit: string;
  /** Uncommitted changes in the working tree when the run started. */
  dirty: boolean;
  date: string;
  options: Record<string, unknown>;
}

/**
 * git in vmmsim's own checkout: the commit of the code that was measured. Installed as a
 * package (no .git beside its package.json) it is unknown: the folder the user runs in, or a
 * repository around node_modules, is another project's commit.
 */
function git(args: string[]): string | undefined {
  const root = packageRoot();
  if (!existsSync(join(root, '.git'))) return undefined;
  try {
    return execFileSync('git', args, {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    return undefined; // not a git checkout (a tarball), or no git: the commit is unknown
  }
}

/** Node, V8, CPU model, cores, memory, git commit (or 'unknown'), and the run's options. */
export function benchEnvironment(options: Record<string, unknown>): BenchEnvironment {
  const commit = git(['rev-parse', 'HEAD']) ?? 'unknown';
  const status = commit === 'unknown' ? '' : (git(['status', '--porcelain']) ?? '');
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    commit,
    dirty: status.length > 0,
    date: new Date().toISOString(),
    options,
  };
}

/** One line for the head of the terminal report. */
export function environmentLine(env: BenchEnvironment): string {
  const commit = env.commit === 'unknown' ? 'unknown' : env.commit.slice(0, 10);
  return (
    `Node ${env.node} (V8 ${env.v8}), ${env.platform}/${env.arch}, ${env.cpu}, ` +
    `${env.cores} cores, ${env.memoryGiB} GiB; commit ${commit}${env.dirty ? ' (dirty)' : ''}`
  );
}

/** CPU time of the whole machine and of this process, to see what else ran meanwhile. */
export interface CpuSample {
  /** Busy jiffies of every core (from /proc/stat), or undefined off Linux. */
  machineBusyMs: number | undefined;
  ownMs: number;
  atMs: number;
}

const JIFFY_MS = 10; // USER_HZ is 100 on every Linux Node runs on

function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) * JIFFY_MS;
  } catch {
    return undefined; // not Linux: what else ran is unknown
  }
}

/**
 * CPU time of the children this process waited for (`vmmsim run` in the job group), from
 * /proc/self/stat (cutime + cstime, in clock ticks of 10 ms); 0 where it cannot be read.
 */
function childrenMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return 0;
  }
}

export function cpuSample(): CpuSample {
  const own = process.cpuUsage();
  return {
    machineBusyMs: machineBusyMs(),
    ownMs: (own.user + own.system) / 1000 + childrenMs(),
    atMs: performance.now(),
  };
}

/**
 * The share of all cores that other processes used between two samples (0 = this run had
 * the machine to itself), or undefined where the machine's busy time cannot be read.
 */
export function foreignLoad(from: CpuSample, to: CpuSample, cores: number): number | undefined {
  if (from.machineBusyMs === undefined || to.machineBusyMs === undefined) return undefined;
  const foreignMs = to.machineBusyMs - from.machineBusyMs - (to.ownMs - from.ownMs);
  return Math.max(0, foreignMs / ((to.atMs - from.atMs) * cores));
}
