// Lint rules for Portcullis: typescript-eslint's recommended set, plus a few that keep modules small and honest.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // isolate-globals.d.ts declares what plugin isolates offer; it is type-checked with the plugins (plugins/tsconfig.json), not with the gateway.
  { ignores: ["dist/", "node_modules/", "docs/", "coverage/", "sandbox/sdk/isolate-globals.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        URL: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    // Type-aware rules for the TypeScript sources: a promise nobody awaits or marks `void` is a
    // fault that surfaces later as an unhandled rejection, or as work that silently never ends.
    files: ["src/**/*.ts", "sandbox/**/*.ts", "test/**/*.ts", "bench/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe/it return promises the runner itself tracks.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "before", "after", "beforeEach", "afterEach", "suite"] },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
    },
  },
  {
    // The isolated-vm wrapper packages are CommonJS: they re-export the build they pin.
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
