// What the operating system lets this process hold: the open-file limit (`ulimit -n`), which
// bounds how many sockets a process serving WebSockets can keep (each is a file descriptor).
import { readFileSync } from 'node:fs';

/** Open files this process (and the processes it starts) may hold: /proc/self/limits on Linux; null elsewhere. */
export function openFilesLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : null;
  } catch {
    return null;
  }
}
