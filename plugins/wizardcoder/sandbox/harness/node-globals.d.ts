// What TypeScript programs in the evolinstruct sandbox may use of Node.js without @types/node
// (which Debian does not package): loosely typed, so that ordinary test code compiles.
declare var require: any;
declare var module: any;
declare var exports: any;
declare var process: any;
declare var console: any;
declare var Buffer: any;
declare var __dirname: string;
declare var __filename: string;
declare function setTimeout(callback: (...args: any[]) => void, ms?: number, ...args: any[]): any;
declare function clearTimeout(handle: any): void;
declare function setInterval(callback: (...args: any[]) => void, ms?: number, ...args: any[]): any;
declare function clearInterval(handle: any): void;
declare function setImmediate(callback: (...args: any[]) => void, ...args: any[]): any;
declare function queueMicrotask(callback: () => void): void;
declare function structuredClone<T>(value: T): T;
declare module "assert" { const assert: any; export = assert; }
declare module "node:assert" { const assert: any; export = assert; }
declare module "assert/strict" { const assert: any; export = assert; }
declare module "node:assert/strict" { const assert: any; export = assert; }
declare module "util" { const util: any; export = util; }
declare module "fs" { const fs: any; export = fs; }
// node:test, and mocha's and jest's globals, which harness.js provides and runs.
declare module "node:test" {
  export const test: any;
  export const it: any;
  export const describe: any;
  export const suite: any;
  export const before: any;
  export const after: any;
  export const beforeEach: any;
  export const afterEach: any;
  export default test;
}
declare var describe: any;
declare var it: any;
declare var beforeAll: any;
declare var afterAll: any;
declare var beforeEach: any;
declare var afterEach: any;
// The npm packages shipped in the image (libraries.py), untyped.
declare module "lodash";
declare module "underscore";
declare module "js-md5";
