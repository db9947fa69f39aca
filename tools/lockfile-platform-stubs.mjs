#!/usr/bin/env node
/**
 * The npm registry reachable from our build machines serves only linux-x64 builds of packages that
 * ship one optional package per platform (@swc/core-*, @unrs/resolver-binding-*). `npm install` then
 * leaves those platform packages out of package-lock.json, and `npm ci` refuses the lockfile as "out
 * of sync". This script adds the missing optional platform entries (name, version, os/cpu/libc, no
 * tarball) so the lockfile is complete; npm skips them on every platform they do not match, exactly
 * as it would with full entries. Run it after `npm install` changes the lockfile:
 *   npm install && node tools/lockfile-platform-stubs.mjs
 */
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'wasm32', 'mips64el'];

function platformOf(name) {
  const words = name.split('/').pop().split('-');
  const os = OS.find((candidate) => words.includes(candidate));
  const cpu = CPU.find((candidate) => words.includes(candidate));
  const libc = words.some((word) => word.startsWith('musl')) ? 'musl' : words.some((word) => word.startsWith('gnu')) ? 'glibc' : undefined;
  if (!cpu) throw new Error(`cannot tell the platform of ${name}`);
  return { ...(os ? { os: [os] } : {}), cpu: [cpu], ...(os === 'linux' && libc ? { libc: [libc] } : {}) };
}

let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${path}/node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (packages[nested] || packages[hoisted]) continue;
    packages[hoisted] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, ...platformOf(name) };
    added += 1;
  }
}

lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`lockfile: added ${added} optional platform entries\n`);
