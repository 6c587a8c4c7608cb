import v8 from 'node:v8';
import vm from 'node:vm';

type Collect = (options?: { type?: 'major' | 'minor' }) => void;

let collect: Collect | undefined;

/**
 * A full garbage collection, also when Node was started without `--expose-gc`: the flag can be set at run
 * time, and a fresh context then sees `gc`. Used between measurements so one configuration's garbage is not
 * collected on another's clock; `young` collects only the young generation.
 */
export function collectGarbage(kind: 'full' | 'young' = 'full'): void {
  if (!collect) {
    const global = globalThis as { gc?: Collect };
    if (typeof global.gc === 'function') {
      collect = global.gc;
    } else {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as Collect;
    }
  }
  // A young-generation collection is enough between batches (their garbage is young) and far cheaper than a
  // full one once the heap holds several full reuse guards.
  collect(kind === 'young' ? { type: 'minor' } : undefined);
}
