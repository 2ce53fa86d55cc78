// Watches the config file with chokidar and asks for a reload after it settles. Editors save in
// bursts (truncate, write, rename), so changes within `settleMs` make one reload.
import { watch } from "chokidar";

export function watchConfigFile(file: string, onChange: () => void, settleMs = 75): () => Promise<void> {
  const watcher = watch(file, { ignoreInitial: true, awaitWriteFinish: false });
  let timer: NodeJS.Timeout | null = null;
  const changed = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      onChange();
    }, settleMs);
  };
  watcher.on("add", changed).on("change", changed);
  return async () => {
    if (timer) clearTimeout(timer);
    await watcher.close();
  };
}
