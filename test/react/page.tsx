/**
 * The page of the React hooks' browser tests (bundled by `test/fixtures/react-server.ts`,
 * exposed as `window.ReactPage`): mounts probes (`probes.tsx`) under a `TributaryProvider` that
 * connects to the page's server, keeps every state each probe committed, and hydrates markup
 * rendered on the server.
 */
import { StrictMode } from 'react';
import { createRoot, hydrateRoot, type Root } from 'react-dom/client';
import { ProbeApp, type ProbeSpec, ProbesApp, type Report, type Seen } from './probes.js';

interface Mounted {
  readonly root: Root;
  readonly seen: Seen[];
  handle: unknown;
}

const mounted = new Map<string, Mounted>();
/** Errors React reported as recoverable (hydration mismatches among them). */
export const recoverableErrors: string[] = [];

interface DocumentLike {
  getElementById(id: string): Element | null;
  createElement(tag: string): Element & { id: string };
  body: { appendChild(node: Element): void };
}
const document = (globalThis as unknown as { document: DocumentLike }).document;

function tree(url: string, spec: ProbeSpec, entry: () => Mounted | undefined) {
  const report: Report = (seen, handle) => {
    const target = entry();
    if (target === undefined) return;
    target.seen.push(seen);
    target.handle = handle;
  };
  return <ProbeApp connect={{ url, clientName: 'react-test/1' }} spec={spec} report={report} />;
}

/** Renders a probe into a new element `id` (in StrictMode with `strict`). */
export function mount(id: string, url: string, spec: ProbeSpec, strict = false): void {
  const element = document.createElement('div');
  element.id = id;
  document.body.appendChild(element);
  const root = createRoot(element, { onRecoverableError: (error) => recoverableErrors.push(String(error)) });
  const entry: Mounted = { root, seen: [], handle: undefined };
  mounted.set(id, entry);
  const app = tree(url, spec, () => entry);
  root.render(strict ? <StrictMode>{app}</StrictMode> : app);
}

/** Hydrates the server-rendered markup in element `id` with the same tree. */
export function hydrate(id: string, url: string, spec: ProbeSpec): void {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`no element ${id}`);
  let entry: Mounted | undefined;
  const root = hydrateRoot(
    element,
    tree(url, spec, () => entry),
    {
      onRecoverableError: (error) => recoverableErrors.push(String(error)),
    },
  );
  entry = { root, seen: [], handle: undefined };
  mounted.set(id, entry);
}

/**
 * Renders probes `specs` (by name) under one provider in a new element `id`; each probe's states
 * are kept under its name. `dropProbe` removes one while the provider (and its client) stays.
 */
export function mountProbes(id: string, url: string, specs: Record<string, ProbeSpec>, strict = false): void {
  const element = document.createElement('div');
  element.id = id;
  document.body.appendChild(element);
  const root = createRoot(element, { onRecoverableError: (error) => recoverableErrors.push(String(error)) });
  const current = { ...specs };
  for (const name of Object.keys(specs)) mounted.set(name, { root, seen: [], handle: undefined });
  const report =
    (name: string): Report =>
    (seen, handle) => {
      const target = mounted.get(name);
      if (target === undefined) return;
      target.seen.push(seen);
      target.handle = handle;
    };
  const render = () => {
    const app = (
      <ProbesApp connect={{ url, clientName: 'react-test/1' }} specs={{ ...current }} report={report} />
    );
    root.render(strict ? <StrictMode>{app}</StrictMode> : app);
  };
  render();
  groups.set(id, {
    root,
    drop: (name) => {
      delete current[name];
      render();
    },
    replace: (name, spec) => {
      current[name] = spec;
      render();
    },
  });
}

const groups = new Map<
  string,
  { root: Root; drop: (name: string) => void; replace: (name: string, spec: ProbeSpec) => void }
>();

/** Unmounts probe `name` of group `id`; the group's provider stays mounted. */
export function dropProbe(id: string, name: string): void {
  groups.get(id)?.drop(name);
}

/** Renders probe `name` of group `id` with another spec (same component, new props). */
export function replaceProbe(id: string, name: string, spec: ProbeSpec): void {
  groups.get(id)?.replace(name, spec);
}

export function unmount(id: string): void {
  const group = groups.get(id);
  groups.delete(id);
  group?.root.unmount();
  mounted.get(id)?.root.unmount();
  mounted.delete(id);
}

/** Every state probe `id` committed, oldest first. */
export function seen(id: string): Seen[] {
  return mounted.get(id)?.seen ?? [];
}

/** What probe `id`'s hook handed out for writes (a collection handle), if anything. */
export function handle<T>(id: string): T {
  return mounted.get(id)?.handle as T;
}
