// The folder this installation of Portcullis lives in (the repository, or node_modules/portcullis):
// where the commands find the shipped config, example plugins, the SDK and the docs' schema.
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

/** From dist/src/package-root.js, two folders up. */
export const packageRoot = resolve(fileURLToPath(import.meta.url), "../../..");
