/** A one-line progress bar on a terminal; on a pipe or in CI, a line every tenth of the way. */
export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr) {
  const interactive = Boolean(stream.isTTY) && !process.env.CI;
  let lastTenth = -1;
  return {
    update(done: number): void {
      if (interactive) {
        const width = 30;
        const filled = Math.round((done / total) * width);
        stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
        if (done === total) stream.write('\n');
        return;
      }
      const tenth = Math.floor((done / total) * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        stream.write(`${label} ${done}/${total}\n`);
      }
    },
  };
}
