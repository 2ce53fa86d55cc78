// isolated-vm, the build made for the running Node. No one release of isolated-vm installs on
// every runtime Portcullis supports: 5.0.4 compiles on Node 20 (and 22) but not on 24 or 26, 6.2.0
// ships binaries for 22 and 24, 7.0.1 for 24 and 26. All three are optional dependencies under
// aliases (@portcullis/isolated-vm-N, package.json); npm keeps those that install on this runtime
// and drops the others. This loads the newest one that loads here: a build left over for another
// runtime fails to load and is passed over.
import { createRequire } from "node:module";
import type IsolatedVM from "isolated-vm";

const builds = ["@portcullis/isolated-vm-7", "@portcullis/isolated-vm-6", "@portcullis/isolated-vm-5"];

function load(): typeof IsolatedVM {
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const build of builds) {
    try {
      return require(build) as typeof IsolatedVM;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Not installed for this runtime: the next one may be. Anything else (a binary that does
      // not load) is worth reporting as it is.
      if (code !== "MODULE_NOT_FOUND") failures.push(`${build}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    `no isolated-vm build loads on Node ${process.versions.node}${failures.length ? ` (${failures.join("; ")})` : ""}: ` +
      "run `npm install` with this Node (supported: 20, 22, 24, 26), so that npm installs the build made for it",
  );
}

const ivm = load();
export default ivm;
