// Watches the config file (or the listener's certificate files) with chokidar and asks for a reload
// after they settle. Editors and certificate renewals write in bursts (truncate, write, rename;
// certificate, then key), so changes within `settleMs` make one reload.
import { watch } from "chokidar";

export function watchConfigFile(file: string | string[], onChange: () => void, settleMs = 75): () => Promise<void> {
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
