// Runs one JavaScript program (code followed by tests) in the evolinstruct sandbox and writes its
// completion record (see toolchains.py).
//
//     node harness.js REPORT_FD NONCE_FD PROGRAM COUNT
//
// The program is loaded as a CommonJS module, as `node PROGRAM` would load it. COUNT is "-" for a
// test script, or the number of test statements the program left in globalThis.__evolTests, each
// run and counted on its own. The record is written once the event loop is empty ("beforeExit",
// which process.exit() skips), so a program that exits in the middle of its tests has none.
// The program can emit "beforeExit" itself (process.emit), so one counts only once the program's
// synchronous part (code, then tests) has returned, and the record waits one more turn of the
// loop to see it still empty: a program that emits it, then exits a little later, has none either.
//
// Reward hacks closed here: assert's loose comparisons (equal, deepEqual...) fail when a value
// under test is an object with its own valueOf/toString against a primitive (an object can make
// `==` answer what it likes); replacing a function of the assert module or console.assert is a
// FAIL; a failed console.assert (which only prints) is a FAIL.
'use strict';

const fs = require('fs');
const path = require('path');
const util = require('util');
const vm = require('vm');
const Module = require('module');
const assert = require('assert');

const [reportFd, nonceFd] = process.argv.slice(2, 4).map(Number);
const program = path.resolve(process.argv[4]);
const count = process.argv[5] === '-' ? null : Number(process.argv[5]);
process.argv = [process.argv[0], program];

let reported = false;

function describe(error) {
  if (error instanceof Error) {
    return `${error.name}: ${error.message}`.slice(0, 500);
  }
  return `thrown: ${util.inspect(error)}`.slice(0, 500);
}

function report(record) {
  if (reported) {
    return;
  }
  reported = true;
  let nonce = '';
  try {
    const buffer = Buffer.alloc(64);
    const size = fs.readSync(nonceFd, buffer, 0, 64, null);
    nonce = buffer.toString('utf8', 0, size);
  } catch (error) {
    return;
  }
  fs.writeSync(reportFd, JSON.stringify({ nonce, ...record }));
}

function verdictOf(error) {
  if (error instanceof assert.AssertionError || (error && error.code === 'ERR_ASSERTION')) {
    return 'FAIL';
  }
  if (error instanceof RangeError && /allocation failed|Invalid array length|Invalid string length/i.test(error.message)) {
    return 'MEMORY_LIMIT';
  }
  return 'RUNTIME_ERROR';
}

function fail(error, extra = {}) {
  try {
    process.stderr.write(`${error && error.stack ? error.stack : util.inspect(error)}\n`);
  } catch (ignored) {
    // nothing more to say
  }
  report({ verdict: verdictOf(error), message: describe(error), ...extra });
  process.exit(1);
}

// --- guards against faked passes -----------------------------------------------------------

const BUILTIN_PROTOTYPES = new Set([
  Object.prototype, Function.prototype, Array.prototype, Number.prototype, String.prototype,
  Boolean.prototype, Date.prototype, RegExp.prototype, Error.prototype, Map.prototype, Set.prototype,
  Promise.prototype, BigInt.prototype, Symbol.prototype,
]);

function customConversion(value) {
  // The name of a conversion (valueOf, toString, Symbol.toPrimitive) that the program defined
  // for this object, or null: loose equality with a primitive runs it.
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    return null;
  }
  for (let proto = value; proto !== null; proto = Object.getPrototypeOf(proto)) {
    if (BUILTIN_PROTOTYPES.has(proto)) {
      return null;
    }
    for (const key of ['valueOf', 'toString', Symbol.toPrimitive]) {
      if (Object.prototype.hasOwnProperty.call(proto, key)) {
        return String(key);
      }
    }
  }
  return null;
}

function isPrimitive(value) {
  return value === null || (typeof value !== 'object' && typeof value !== 'function');
}

function guardLoose(name) {
  const original = assert[name];
  return function guarded(actual, expected, ...rest) {
    for (const [mine, theirs] of [[actual, expected], [expected, actual]]) {
      const conversion = customConversion(mine);
      if (conversion && isPrimitive(theirs)) {
        throw new assert.AssertionError({
          message: `assert.${name} was decided by the value under test: an object with its own ${conversion} ` +
            `compared loosely with ${util.inspect(theirs)} (such an object can equal anything)`,
          actual, expected, operator: name,
        });
      }
    }
    return original.call(this, actual, expected, ...rest);
  };
}

for (const name of ['equal', 'notEqual', 'deepEqual', 'notDeepEqual']) {
  assert[name] = guardLoose(name);
}

const consoleFailures = [];
const consoleAssert = console.assert;
console.assert = function assertInConsole(value, ...args) {
  if (!value) {
    consoleFailures.push(args.length ? util.format(...args) : 'console.assert');
  }
  return consoleAssert.call(console, value, ...args);
};
const guardedConsoleAssert = console.assert;

function snapshot(object) {
  return new Map(Object.getOwnPropertyNames(object).map((name) => [name, object[name]]));
}
const assertFunctions = snapshot(assert);
const strictFunctions = snapshot(assert.strict);

function tampering() {
  if (require('assert') !== assert) {
    return 'the program replaced the assert module';
  }
  for (const [object, originals, label] of [[assert, assertFunctions, 'assert'], [assert.strict, strictFunctions, 'assert.strict']]) {
    for (const [name, original] of originals) {
      if (typeof original === 'function' && object[name] !== original) {
        return `the program replaced ${label}.${name}`;
      }
    }
  }
  if (console.assert !== guardedConsoleAssert) {
    return 'the program replaced console.assert';
  }
  return null;
}

// --- running the program -------------------------------------------------------------------

process.on('uncaughtException', (error) => fail(error));
process.on('unhandledRejection', (error) => fail(error));

// What the process's own stdout and stderr pipes add to the active resources, never work to wait for.
const activeResources = process.getActiveResourcesInfo.bind(process);
const activeHandles = process._getActiveHandles.bind(process);
const stdio = [process.stdin, process.stdout, process.stderr];

function loopIsEmpty() {
  const own = activeHandles().filter((handle) => stdio.includes(handle)).length;
  return activeResources().length <= own;
}

let finished = false; // the program's synchronous part (code, then tests) returned
let confirming = false;

process.on('beforeExit', () => {
  if (reported || !finished || confirming) {
    return;
  }
  // One more turn of the loop: work the program scheduled around a "beforeExit" of its own shows.
  confirming = true;
  setImmediate(() => {
    confirming = false;
    if (!reported && loopIsEmpty()) {
      complete();
    }
  });
});

function complete() {
  const tampered = tampering();
  if (tampered) {
    report({ ...counts, verdict: 'FAIL', message: `${tampered}: a test that cannot fail is not a test` });
    return;
  }
  if (consoleFailures.length) {
    report({ ...counts, verdict: 'FAIL', message: `console.assert failed: ${consoleFailures[0]}`.slice(0, 500) });
    return;
  }
  report({ verdict: counts.total === undefined || counts.passed === counts.total ? 'PASS' : worst, ...counts });
}

let counts = {};
let worst = 'PASS';

const source = fs.readFileSync(program, 'utf8');
try {
  // Compiled first, on its own: a syntax error is the program's, found before anything runs.
  new vm.Script(Module.wrap(source), { filename: program });
} catch (error) {
  process.stderr.write(`${error.stack}\n`);
  report({ verdict: 'COMPILE_ERROR', message: describe(error) });
  process.exit(1);
}

try {
  // Loaded as the main module, as `node PROGRAM` would: require.main is the program itself.
  Module._load(program, null, true);
} catch (error) {
  fail(error, count === null ? {} : { passed: 0, total: count });
}

if (count !== null) {
  const tests = globalThis.__evolTests || [];
  let passed = 0;
  let first = '';
  const seen = new Set();
  tests.forEach((test, index) => {
    try {
      test();
      passed += 1;
    } catch (error) {
      process.stderr.write(`${error && error.stack ? error.stack : util.inspect(error)}\n`);
      const verdict = verdictOf(error);
      seen.add(verdict);
      first = first || `test ${index}: ${describe(error)}`;
    }
  });
  counts = { passed, total: tests.length };
  worst = ['MEMORY_LIMIT', 'FAIL', 'RUNTIME_ERROR'].find((verdict) => seen.has(verdict)) || 'PASS';
  if (first) {
    counts.message = first;
  }
}
finished = true;
