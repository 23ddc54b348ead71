// Runs one JavaScript program (code followed by tests) in the evolinstruct sandbox and writes its
// completion record (see toolchains.py).
//
//     node harness.js REPORT_FD NONCE_FD PROGRAM COUNT
//
// The program is loaded as a CommonJS module, as `node PROGRAM` would load it. COUNT is "-" for a
// test script, or the number of test statements the program left in globalThis.__evolTests, each
// run and counted on its own. Tests written for node:test (`test`, `describe`, `it`, hooks, from
// require('node:test')) or in mocha's and jest's style (the globals `describe`, `it`, `test`) are
// collected while the program loads and run afterwards, one after the other, and counted.
//
// The record is written once the event loop is empty ("beforeExit", which process.exit() skips),
// so a program that exits in the middle of its tests has none. The program can emit "beforeExit"
// itself (process.emit), so one counts only once the program's synchronous part (code, then
// tests) has returned, and the record waits one more turn of the loop to see it still empty.
//
// The program runs in this process, so nothing the harness relies on may be reachable from it:
// - everything the harness calls after the program started was taken before it started (JSON,
//   fs.writeSync, Reflect.apply...), and the record is built from primitive strings only;
// - the nonce is read, and its descriptor closed, before the program starts;
// - the functions of the builtins (Array.prototype.forEach, Function.prototype.call,
//   JSON.stringify, fs.writeSync, process.exit, require and the module loader, the assert
//   module...) are compared at the end with what they were: a program that replaced one is a
//   FAIL that says which, as are a removed or added handler of uncaught exceptions and a promise
//   left pending (a test awaiting what never settles never ran its assertions);
// - assertions are counted (the assert module, console.assert, each test of a runner): a program
//   whose tests executed none is reported as having run no test (UNTESTED).
// Also: assert's loose comparisons (equal, deepEqual...) fail when a value under test is an
// object with its own valueOf/toString against a primitive (an object can make `==` answer what
// it likes); a failed console.assert (which only prints) is a FAIL.
'use strict';

const fs = require('fs');
const path = require('path');
const util = require('util');
const vm = require('vm');
const asyncHooks = require('async_hooks');
const EventEmitter = require('events');
const Module = require('module');
const realAssert = require('assert');

// --- what the harness uses, taken before the program runs -------------------------------------

const apply = Reflect.apply;
const ownKeys = Reflect.ownKeys;
const describeProperty = Reflect.getOwnPropertyDescriptor;
const defineProperty = Reflect.defineProperty;
const getPrototypeOf = Reflect.getPrototypeOf;
const stringify = JSON.stringify;
const writeSync = fs.writeSync;
const readSync = fs.readSync;
const closeSync = fs.closeSync;
const fromCharCode = String.fromCharCode;
const toText = String;
const inspect = util.inspect;
const exit = process.exit;
const listeners = EventEmitter.prototype.listeners;
const hasCaptureCallback = process.hasUncaughtExceptionCaptureCallback;
const stderrWrite = process.stderr.write;
const stderr = process.stderr;
const WeakRefType = WeakRef;
const setImmediateOf = setImmediate;
const ErrorType = Error;
const RangeErrorType = RangeError;
const AssertionErrorType = realAssert.AssertionError;
const PromiseType = Promise;
const promiseThen = Promise.prototype.then;
const isPromise = util.types.isPromise;

const reportFd = Number(process.argv[2]);
const nonceFd = Number(process.argv[3]);
const program = path.resolve(process.argv[4]);
const count = process.argv[5] === '-' ? null : Number(process.argv[5]);
process.argv = [process.argv[0], program];

// The nonce, read and its descriptor closed before the program starts: the program cannot read it.
let nonce = '';
try {
  const buffer = new Uint8Array(64);
  const size = readSync(nonceFd, buffer, 0, 64, null);
  for (let i = 0; i < size; i += 1) {
    nonce += fromCharCode(buffer[i]);
  }
  closeSync(nonceFd);
} catch (error) {
  nonce = '';
}

let reported = false;

function say(text) {
  try {
    apply(stderrWrite, stderr, [`${text}\n`]);
  } catch (ignored) {
    // nothing more to say
  }
}

// The record, from primitive strings and numbers only (JSON.stringify of an object would ask the
// program's toJSON, should it have put one on Object.prototype).
function report(verdict, message, passed, total) {
  if (reported || !nonce) {
    return;
  }
  reported = true;
  let record = `{"nonce": ${apply(stringify, JSON, [nonce])}, "verdict": ${apply(stringify, JSON, [verdict])}`;
  if (message) {
    record += `, "message": ${apply(stringify, JSON, [toText(message).slice(0, 500)])}`;
  }
  if (typeof passed === 'number' && typeof total === 'number') {
    record += `, "passed": ${toText(passed)}, "total": ${toText(total)}`;
  }
  record += '}';
  try {
    apply(writeSync, fs, [reportFd, record]);
  } catch (ignored) {
    // no record: the supervisor judges the run by how it ended
  }
}

function describe(error) {
  try {
    if (error instanceof ErrorType) {
      return `${toText(error.name)}: ${toText(error.message)}`.slice(0, 500);
    }
    return `thrown: ${apply(inspect, util, [error, { customInspect: false }])}`.slice(0, 500);
  } catch (ignored) {
    return 'thrown: a value that cannot be shown';
  }
}

function verdictOf(error) {
  try {
    if (error instanceof AssertionErrorType || (error && error.code === 'ERR_ASSERTION')) {
      return 'FAIL';
    }
    if (error instanceof RangeErrorType && /allocation failed|Invalid array length|Invalid string length/i.test(error.message)) {
      return 'MEMORY_LIMIT';
    }
  } catch (ignored) {
    // a hostile error is the program's runtime error
  }
  return 'RUNTIME_ERROR';
}

function stack(error) {
  try {
    return error && error.stack ? toText(error.stack) : apply(inspect, util, [error, { customInspect: false }]);
  } catch (ignored) {
    return 'a value that cannot be shown';
  }
}

function fail(error, passed, total) {
  say(stack(error));
  report(verdictOf(error), describe(error), passed, total);
  apply(exit, process, [1]);
}

// --- assertions, counted and guarded ---------------------------------------------------------

let assertions = 0;

const BUILTIN_PROTOTYPES = new Set([
  Object.prototype, Function.prototype, Array.prototype, Number.prototype, String.prototype,
  Boolean.prototype, Date.prototype, RegExp.prototype, Error.prototype, Map.prototype, Set.prototype,
  Promise.prototype, BigInt.prototype, Symbol.prototype,
]);
const hasBuiltinPrototype = Set.prototype.has;
const hasOwn = Object.prototype.hasOwnProperty;

function customConversion(value) {
  // The name of a conversion (valueOf, toString, Symbol.toPrimitive) that the program defined
  // for this object, or null: loose equality with a primitive runs it.
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    return null;
  }
  for (let proto = value; proto !== null; proto = getPrototypeOf(proto)) {
    if (apply(hasBuiltinPrototype, BUILTIN_PROTOTYPES, [proto])) {
      return null;
    }
    for (const key of ['valueOf', 'toString', Symbol.toPrimitive]) {
      if (apply(hasOwn, proto, [key])) {
        return toText(key);
      }
    }
  }
  return null;
}

function isPrimitive(value) {
  return value === null || (typeof value !== 'object' && typeof value !== 'function');
}

const LOOSE = new Set(['equal', 'notEqual', 'deepEqual', 'notDeepEqual']);

function counted(name, original) {
  const loose = apply(hasBuiltinPrototype, LOOSE, [name]);
  return function assertion(...args) {
    assertions += 1;
    if (loose) {
      const pairs = [[args[0], args[1]], [args[1], args[0]]];
      for (let i = 0; i < 2; i += 1) {
        const conversion = customConversion(pairs[i][0]);
        if (conversion && isPrimitive(pairs[i][1])) {
          throw new AssertionErrorType({
            message: `assert.${name} was decided by the value under test: an object with its own ${conversion} ` +
              `compared loosely with ${apply(inspect, util, [pairs[i][1]])} (such an object can equal anything)`,
            actual: args[0], expected: args[1], operator: name,
          });
        }
      }
    }
    return apply(original, this, args);
  };
}

// The assert module the program gets: the same functions, each counted (and the loose ones
// guarded), the module itself callable as assert(value).
function countedModule(original) {
  const module = counted('ok', original);
  for (const key of ownKeys(original)) {
    const property = describeProperty(original, key);
    if (key === 'strict' || key === 'prototype' || key === 'length' || key === 'name') {
      continue;
    }
    if (property && typeof property.value === 'function' && property.value !== AssertionErrorType &&
        typeof key === 'string' && !/^[A-Z]/.test(key)) {
      defineProperty(module, key, { ...property, value: counted(key, property.value) });
    } else if (property) {
      defineProperty(module, key, property);
    }
  }
  return module;
}

const assertModule = countedModule(realAssert);
const strictModule = countedModule(realAssert.strict);
defineProperty(assertModule, 'strict', { value: strictModule, enumerable: true, writable: true, configurable: true });
defineProperty(strictModule, 'strict', { value: strictModule, enumerable: true, writable: true, configurable: true });

const consoleFailures = [];
const consoleAssert = console.assert;
console.assert = function assertInConsole(value, ...args) {
  assertions += 1;
  if (!value) {
    consoleFailures[consoleFailures.length] = args.length ? apply(util.format, util, args) : 'console.assert';
  }
  return apply(consoleAssert, console, [value, ...args]);
};

// --- node:test, and mocha's and jest's describe/it/test ---------------------------------------

const runner = { tests: [], current: null, finished: false, running: null };

function registrar(kind, style) {
  // test(name, [options], fn) / describe(name, [options], fn)
  const register = function register(name, options, fn) {
    if (typeof name === 'function') {
      fn = name;
      name = fn.name || '<anonymous>';
    } else if (typeof options === 'function') {
      fn = options;
      options = {};
    }
    const skip = Boolean(options && (options.skip || options.todo));
    const suite = runner.current;
    const entry = { kind, name: toText(name), fn, skip, style, suite, children: [], hooks: suite ? suite.hooks : null };
    if (kind === 'suite') {
      entry.hooks = { before: [], after: [], beforeEach: [], afterEach: [] };
      if (suite) {
        suite.children[suite.children.length] = entry;
      } else {
        runner.tests[runner.tests.length] = entry;
      }
      if (!skip && typeof fn === 'function') {
        const outer = runner.current;
        runner.current = entry;
        try {
          fn();
        } finally {
          runner.current = outer;
        }
      }
    } else if (suite) {
      suite.children[suite.children.length] = entry;
    } else {
      runner.tests[runner.tests.length] = entry;
    }
  };
  register.skip = (name, options, fn) => register(name, { skip: true }, typeof options === 'function' ? options : fn);
  register.todo = register.skip;
  register.only = register;
  return register;
}

function hook(which) {
  return function addHook(fn) {
    const hooks = runner.current ? runner.current.hooks : runner.topHooks;
    hooks[which][hooks[which].length] = fn;
  };
}
runner.topHooks = { before: [], after: [], beforeEach: [], afterEach: [] };

function callWithDone(fn, args, style) {
  // A test function that takes a callback (mocha/jest `done`, node:test's second argument)
  // finishes when it calls it; one that returns a promise, when the promise settles.
  const wantsDone = style === 'node' ? fn.length >= 2 : fn.length >= 1;
  if (!wantsDone) {
    return apply(fn, undefined, args);
  }
  return new PromiseType((resolve, reject) => {
    const done = (error) => (error ? reject(error) : resolve());
    try {
      apply(fn, undefined, style === 'node' ? [args[0], done] : [done]);
    } catch (error) {
      reject(error);
    }
  });
}

async function settle(value) {
  if (isPromise(value) || (value && typeof value.then === 'function')) {
    await value;
  }
}

const results = { passed: 0, total: 0, failure: null, verdicts: new Set() };

async function runEntry(entry, hooks) {
  if (entry.skip) {
    return;
  }
  if (entry.kind === 'suite') {
    for (const fn of entry.hooks.before) {
      await settle(callWithDone(fn, [{}], entry.style));
    }
    for (let i = 0; i < entry.children.length; i += 1) {
      await runEntry(entry.children[i], [...hooks, entry.hooks]);
    }
    for (const fn of entry.hooks.after) {
      await settle(callWithDone(fn, [{}], entry.style));
    }
    return;
  }
  results.total += 1;
  runner.running = entry.name;
  const context = { name: entry.name, skip() { entry.skipped = true; }, todo() { entry.skipped = true; },
    diagnostic() {}, test: registrarForSubtests(entry) };
  try {
    for (let i = 0; i < hooks.length; i += 1) {
      for (const fn of hooks[i].beforeEach) {
        await settle(callWithDone(fn, [context], entry.style));
      }
    }
    await settle(callWithDone(entry.fn, [context], entry.style));
    for (let i = 0; i < entry.children.length; i += 1) {
      await runEntry(entry.children[i], hooks);
    }
    for (let i = hooks.length - 1; i >= 0; i -= 1) {
      for (const fn of hooks[i].afterEach) {
        await settle(callWithDone(fn, [context], entry.style));
      }
    }
    if (entry.skipped) {
      results.total -= 1;
    } else {
      results.passed += 1;
    }
  } catch (error) {
    say(stack(error));
    const verdict = verdictOf(error);
    apply(Set.prototype.add, results.verdicts, [verdict]);
    results.failure = results.failure || `${entry.name}: ${describe(error)}`;
  }
  runner.running = null;
}

function registrarForSubtests(parent) {
  return async function subtest(name, options, fn) {
    if (typeof options === 'function') {
      fn = options;
    }
    const entry = { kind: 'test', name: `${parent.name} > ${toText(name)}`, fn, skip: false, style: 'node', children: [] };
    await runEntry(entry, []);
  };
}

const nodeTest = registrar('test', 'node');
const nodeTestModule = Object.assign(nodeTest, {
  test: nodeTest, it: registrar('test', 'node'), describe: registrar('suite', 'node'), suite: registrar('suite', 'node'),
  before: hook('before'), after: hook('after'), beforeEach: hook('beforeEach'), afterEach: hook('afterEach'),
});
nodeTestModule.default = nodeTestModule;

// mocha's and jest's globals, where the program does not define its own.
const GLOBAL_RUNNER = {
  describe: registrar('suite', 'mocha'), it: registrar('test', 'mocha'), test: registrar('test', 'mocha'),
  beforeAll: hook('before'), afterAll: hook('after'), beforeEach: hook('beforeEach'), afterEach: hook('afterEach'),
};
for (const name of ownKeys(GLOBAL_RUNNER)) {
  if (!(name in globalThis)) {
    globalThis[name] = GLOBAL_RUNNER[name];
  }
}

async function runCollected() {
  for (const fn of runner.topHooks.before) {
    await settle(callWithDone(fn, [{}], 'node'));
  }
  for (let i = 0; i < runner.tests.length; i += 1) {
    await runEntry(runner.tests[i], [runner.topHooks]);
  }
  for (const fn of runner.topHooks.after) {
    await settle(callWithDone(fn, [{}], 'node'));
  }
  runner.finished = true;
}

// --- the module loader: the program's require('assert') and require('node:test') ------------

const ASSERT_NAMES = new Set(['assert', 'node:assert']);
const STRICT_NAMES = new Set(['assert/strict', 'node:assert/strict']);
const originalLoad = Module._load;
Module._load = function load(request, parent, isMain) {
  if (apply(hasBuiltinPrototype, ASSERT_NAMES, [request])) {
    return assertModule;
  }
  if (apply(hasBuiltinPrototype, STRICT_NAMES, [request])) {
    return strictModule;
  }
  if (request === 'node:test') {
    return nodeTestModule;
  }
  return apply(originalLoad, this, [request, parent, isMain]);
};

// --- the builtins, as they were before the program ran ----------------------------------------

const WATCHED = [
  ['Object', Object], ['Object.prototype', Object.prototype], ['Function.prototype', Function.prototype],
  ['Array', Array], ['Array.prototype', Array.prototype], ['String', String], ['String.prototype', String.prototype],
  ['Number', Number], ['Number.prototype', Number.prototype], ['Boolean.prototype', Boolean.prototype],
  ['Symbol', Symbol], ['Promise', Promise], ['Promise.prototype', Promise.prototype], ['Map.prototype', Map.prototype],
  ['Set.prototype', Set.prototype], ['JSON', JSON], ['Math', Math], ['Reflect', Reflect], ['Error', Error],
  ['Error.prototype', Error.prototype], ['RegExp.prototype', RegExp.prototype], ['Date', Date],
  ['globalThis', globalThis], ['process', process], ['console', console], ['fs', fs], ['util', util],
  ['assert', assertModule], ['assert.strict', strictModule], ['Module', Module], ['Module.prototype', Module.prototype],
  ['EventEmitter.prototype', EventEmitter.prototype], ['Buffer', Buffer], ['Buffer.prototype', Buffer.prototype],
];
const snapshot = [];
for (let i = 0; i < WATCHED.length; i += 1) {
  const [label, object] = WATCHED[i];
  for (const key of ownKeys(object)) {
    const property = describeProperty(object, key);
    // Functions only, held as data: what the program could swap for a fake. (Lazily computed
    // accessors of Node's own are left alone.)
    if (property && 'value' in property && typeof property.value === 'function') {
      snapshot[snapshot.length] = [label, object, key, property.value];
    }
  }
}

function replacedBuiltin() {
  for (let i = 0; i < snapshot.length; i += 1) {
    const [label, object, key, value] = snapshot[i];
    const now = describeProperty(object, key);
    if (!now || !('value' in now) || now.value !== value) {
      const name = typeof key === 'symbol' ? `[${toText(key.description)}]` : `.${key}`;
      return `the program replaced ${label === 'globalThis' ? '' : label}${label === 'globalThis' ? key.toString() : name}`;
    }
  }
  const handlers = ['uncaughtException', 'unhandledRejection'];
  for (let i = 0; i < 2; i += 1) {
    const registered = apply(listeners, process, [handlers[i]]);
    if (registered.length !== 1 || registered[0] !== HANDLERS[i]) {
      return `the program removed or added a handler of ${handlers[i]}`;
    }
  }
  if (apply(hasCaptureCallback, process, [])) {
    return 'the program set a capture callback for uncaught exceptions';
  }
  if (console.assert !== guardedConsoleAssert) {
    return 'the program replaced console.assert';
  }
  return null;
}

// --- promises left pending --------------------------------------------------------------------

const promises = [];
const PROMISE_CAP = 200000;
const promiseHook = asyncHooks.createHook({
  init(asyncId, type, triggerAsyncId, resource) {
    if (type === 'PROMISE' && promises.length < PROMISE_CAP) {
      promises[promises.length] = new WeakRefType(resource);
    }
  },
});

function pendingPromises() {
  let pending = 0;
  for (let i = 0; i < promises.length; i += 1) {
    const promise = promises[i].deref();
    if (promise && apply(inspect, util, [promise, { customInspect: false, depth: 0 }]).includes('<pending>')) {
      pending += 1;
    }
  }
  return pending;
}

// --- running the program -------------------------------------------------------------------

const HANDLERS = [(error) => fail(error), (error) => fail(error)];
process.on('uncaughtException', HANDLERS[0]);
process.on('unhandledRejection', HANDLERS[1]);
const guardedConsoleAssert = console.assert;

// What the process's own stdout and stderr pipes add to the active resources, never work to wait for.
const activeResources = process.getActiveResourcesInfo.bind(process);
const activeHandles = process._getActiveHandles.bind(process);
const stdio = [process.stdin, process.stdout, process.stderr];

function loopIsEmpty() {
  const handles = activeHandles();
  let own = 0;
  for (let i = 0; i < handles.length; i += 1) {
    if (handles[i] === stdio[0] || handles[i] === stdio[1] || handles[i] === stdio[2]) {
      own += 1;
    }
  }
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
  apply(setImmediateOf, globalThis, [() => {
    confirming = false;
    if (!reported && loopIsEmpty()) {
      complete();
    }
  }]);
});

let passedStatements = null;
let firstFailure = '';
let worst = 'PASS';

function complete() {
  const collected = runner.tests.length > 0;
  const passed = collected ? results.passed : passedStatements;
  const total = collected ? results.total : count;
  const tampered = replacedBuiltin();
  if (tampered) {
    report('FAIL', `${tampered}: a test that cannot fail is not a test`, passed, total);
    return;
  }
  if (collected && !runner.finished) {
    report('FAIL', `the test "${toText(runner.running)}" never finished: it awaits what never settles, ` +
      'so its assertions never ran', passed, total);
    return;
  }
  promiseHook.disable();
  const pending = pendingPromises();
  if (pending) {
    report('FAIL', `the program left ${toText(pending)} promise(s) pending when nothing was left to run: ` +
      'a test awaiting one never ran to its end', passed, total);
    return;
  }
  if (consoleFailures.length) {
    report('FAIL', `console.assert failed: ${toText(consoleFailures[0])}`, passed, total);
    return;
  }
  if (collected && results.failure) {
    const verdict = results.verdicts.has('MEMORY_LIMIT') ? 'MEMORY_LIMIT' : results.verdicts.has('FAIL') ? 'FAIL' : 'RUNTIME_ERROR';
    report(verdict, results.failure, passed, total);
    return;
  }
  if (!collected && count !== null && passed !== count) {
    report(worst === 'PASS' ? 'FAIL' : worst, firstFailure || 'not every test statement ran', passed, count);
    return;
  }
  if (assertions === 0 && (collected || count !== null || sourceHasTests)) {
    // Tests ran, but not one assertion: a run that checked nothing.
    report('PASS', '', 0, 0);
    return;
  }
  report('PASS', '', passed, total);
}

const source = fs.readFileSync(program, 'utf8');
// Whether the program has tests at all (the supervisor knows too; this says they asserted nothing).
const sourceHasTests = /\bassert\b|\bdescribe\s*\(|\bit\s*\(|\btest\s*\(/.test(source);
try {
  // Compiled first, on its own: a syntax error is the program's, found before anything runs.
  new vm.Script(Module.wrap(source), { filename: program });
} catch (error) {
  say(stack(error));
  report('COMPILE_ERROR', describe(error));
  apply(exit, process, [1]);
}

promiseHook.enable();
try {
  // Loaded as the main module, as `node PROGRAM` would: require.main is the program itself.
  apply(originalLoad, Module, [program, null, true]);
} catch (error) {
  fail(error, count === null ? undefined : 0, count === null ? undefined : count);
}

if (count !== null) {
  const tests = globalThis.__evolTests;
  let passed = 0;
  const seen = new Set();
  for (let index = 0; index < count; index += 1) {
    try {
      tests[index]();
      passed += 1;
    } catch (error) {
      say(stack(error));
      apply(Set.prototype.add, seen, [verdictOf(error)]);
      firstFailure = firstFailure || `test ${index}: ${describe(error)}`;
    }
  }
  passedStatements = passed;
  worst = seen.has('MEMORY_LIMIT') ? 'MEMORY_LIMIT' : seen.has('FAIL') ? 'FAIL' : seen.has('RUNTIME_ERROR') ? 'RUNTIME_ERROR' : 'PASS';
}
finished = true;
if (runner.tests.length) {
  // Run once the program's own start-up work is done, as node:test does; complete() tells a run
  // that never finished (a test awaiting what never settles) from one that did.
  apply(promiseThen, runCollected(), [undefined, (error) => fail(error)]);
}
