import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './child-process';
import { median } from './stats';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  /** The 1-minute load average when the run started: other work on the machine skews timings. */
  loadAverage: number;
  date: string;
  /** The commit the sources were at, read from `.git` (no git command), when there is one. */
  commit?: string;
}

/** HEAD's commit, read straight from the repository's files. */
export function headCommit(root = REPO_ROOT): string | undefined {
  try {
    const gitDir = path.join(root, '.git');
    const head = fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head.slice(0, 12);
    const ref = head.slice('ref: '.length);
    const loose = path.join(gitDir, ref);
    if (fs.existsSync(loose)) return fs.readFileSync(loose, 'utf8').trim().slice(0, 12);
    const packed = fs.readFileSync(path.join(gitDir, 'packed-refs'), 'utf8');
    const line = packed.split('\n').find((candidate) => candidate.endsWith(` ${ref}`));
    return line?.slice(0, 12);
  } catch {
    return undefined;
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage: Math.round(os.loadavg()[0] * 100) / 100,
    date: new Date().toISOString(),
    commit: headCommit(),
  };
}

/**
 * How late a timer fires here: the median, over `samples` waits of `waitMs`, of the time past the wait. On
 * some virtual machines a sleep overruns by a share of its length, and every limiter that sleeps until a
 * window opens pays that on each window.
 */
export async function timerLatenessMs(samples: number, waitMs: number): Promise<number> {
  const late: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    late.push(performance.now() - started - waitMs);
  }
  return median(late);
}
