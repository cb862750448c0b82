/**
 * The shared corpus: realistic transformations and inputs of set sizes. Every engine runs the
 * same step bodies (strict-mode function bodies that see `input` and `steps`) on the same inputs.
 */
import type { PlanStep } from '@beddel/contracts';

export interface BenchTransformation {
  readonly id: string;
  readonly description: string;
  readonly steps: readonly PlanStep[];
  /** Builds a deterministic input whose JSON is about `targetBytes` long. */
  makeInput(targetBytes: number): unknown;
}

export interface InputSize {
  readonly label: string;
  readonly bytes: number;
}

export const INPUT_SIZES: readonly InputSize[] = [
  { label: '1KB', bytes: 1024 },
  { label: '100KB', bytes: 100 * 1024 },
  { label: '1MB', bytes: 1024 * 1024 },
];

export interface Scenario {
  /** `<transformation>@<size>`, e.g. `object-map@1KB`. */
  readonly id: string;
  readonly transformation: BenchTransformation;
  readonly size: InputSize;
  readonly input: unknown;
  /** Length of the input's JSON in UTF-8 bytes. */
  readonly inputBytes: number;
  /** The output computed by running the same step code in plain Node: every engine must match it. */
  readonly expectedOutputJson: string;
}

/** mulberry32: a tiny deterministic PRNG so every run uses the same inputs. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

/** Appends `make(i)` items to a list until the JSON of `base` (which holds the list) reaches `targetBytes`. */
function growTo<T>(targetBytes: number, base: unknown, list: T[], make: (index: number) => T): void {
  let size = JSON.stringify(base).length;
  while (size < targetBytes) {
    const item = make(list.length);
    list.push(item);
    size += JSON.stringify(item).length + 1;
  }
}

const FIRST = ['José', 'anna-lena', '  MARÍA ', 'Łukasz', "o'brien", 'Zoë', 'françois', 'Øystein', 'ngozi', 'Hiroshi'];
const LAST = ['García  Márquez', 'müller', ' NGUYEN', 'van der Berg', 'Dvořák', 'smith-jones', "D'Angelo", 'Åström'];
const CITIES = ['  são paulo', 'MÜNCHEN ', 'kraków', 'Zürich', 'new   york', 'Malmö', 'Besançon', 'reykjavík'];
const CATEGORIES = ['garden', 'kitchen', 'toys', 'books', 'audio', 'sports', 'office', 'tools', 'beauty', 'pets'];
const REGIONS = ['eu-west', 'eu-north', 'us-east', 'us-west', 'ap-south'];
const STATUSES = ['paid', 'paid', 'paid', 'shipped', 'cancelled', 'pending'];
const CURRENCIES = ['EUR', 'USD', 'GBP'];
const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'café', 'naïve', 'straße', 'coöperate', 'résumé', 'über', 'fjörd'];

function sentence(random: () => number, words: number): string {
  const parts: string[] = [];
  for (let i = 0; i < words; i++) parts.push(pick(random, WORDS) + (random() < 0.15 ? '   ' : ' '));
  return parts.join('');
}

const objectMap: BenchTransformation = {
  id: 'object-map',
  description: 'small object mapping: reshape an order and its customer (extra history pads the input)',
  steps: [
    {
      name: 'map',
      run: `const c = input.customer;
const o = input.order;
return {
  id: o.id,
  placedAt: o.placedAt,
  customer: { id: c.id, name: c.firstName + ' ' + c.lastName, email: c.email.toLowerCase(), country: c.address.country },
  shipping: { line1: c.address.street, city: c.address.city, postcode: c.address.postcode },
  lines: o.lines.length,
  total: Math.round(o.lines.reduce((sum, line) => sum + line.qty * line.unitPrice, 0) * 100) / 100,
  events: input.history.length,
  lastEvent: input.history.length > 0 ? input.history[input.history.length - 1].type : null,
};`,
    },
  ],
  makeInput(targetBytes) {
    const random = prng(1);
    const history: unknown[] = [];
    const base = {
      customer: {
        id: 'cus_0001',
        firstName: 'Ada',
        lastName: 'Lovelace',
        email: 'Ada.Lovelace@Example.COM',
        address: { street: '12 Analytical Row', city: 'London', postcode: 'NW1 6XE', country: 'GB' },
      },
      order: {
        id: 'ord_0001',
        placedAt: '2025-01-02T03:04:05Z',
        lines: [
          { sku: 'SKU-1', qty: 2, unitPrice: 9.99 },
          { sku: 'SKU-2', qty: 1, unitPrice: 24.5 },
          { sku: 'SKU-3', qty: 4, unitPrice: 3.25 },
        ],
      },
      history,
    };
    growTo(targetBytes, base, history, (i) => ({
      at: `2025-01-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z`,
      type: pick(random, ['viewed', 'carted', 'paid', 'emailed']),
      note: sentence(random, 4),
    }));
    return base;
  },
};

const arrayAggregate: BenchTransformation = {
  id: 'array-aggregate',
  description: 'array aggregation: group order items by category (about 1,000 items at 100 KB), totals and top SKUs',
  steps: [
    {
      name: 'aggregate',
      run: `const groups = Object.create(null);
for (const item of input.items) {
  let group = groups[item.category];
  if (group === undefined) {
    group = { category: item.category, count: 0, units: 0, revenue: 0, minPrice: item.price, maxPrice: item.price };
    groups[item.category] = group;
  }
  group.count += 1;
  group.units += item.qty;
  group.revenue += item.qty * item.price;
  if (item.price < group.minPrice) group.minPrice = item.price;
  if (item.price > group.maxPrice) group.maxPrice = item.price;
}
const categories = Object.values(groups)
  .map((g) => ({ ...g, revenue: Math.round(g.revenue * 100) / 100, avgPrice: Math.round((g.revenue / g.units) * 100) / 100 }))
  .sort((a, b) => b.revenue - a.revenue || (a.category < b.category ? -1 : 1));
const topSkus = input.items
  .slice()
  .sort((a, b) => b.qty * b.price - a.qty * a.price || (a.sku < b.sku ? -1 : 1))
  .slice(0, 5)
  .map((item) => item.sku);
return { itemCount: input.items.length, categories, topSkus };`,
    },
  ],
  makeInput(targetBytes) {
    const random = prng(2);
    const items: unknown[] = [];
    const base = { items };
    growTo(targetBytes, base, items, (i) => ({
      sku: `SKU-${String(i).padStart(5, '0')}`,
      category: pick(random, CATEGORIES),
      qty: 1 + Math.floor(random() * 9),
      price: Math.round(random() * 20000) / 100,
      region: pick(random, REGIONS),
      ts: 1_700_000_000 + i * 37,
    }));
    return base;
  },
};

const stringNormalise: BenchTransformation = {
  id: 'string-normalise',
  description: 'string-heavy normalisation: trim, collapse, title-case, strip diacritics, slugify contact records',
  steps: [
    {
      name: 'normalise',
      run: `const collapse = (s) => s.trim().replace(/\\s+/g, ' ');
const title = (s) => collapse(s).toLowerCase().replace(/(^|[\\s'-])(\\p{L})/gu, (m, before, ch) => before + ch.toUpperCase());
const ascii = (s) => s.normalize('NFKD').replace(/[\\u0300-\\u036f]/g, '');
const records = input.records.map((r) => ({
  name: title(r.firstName + ' ' + r.lastName),
  slug: ascii(collapse(r.firstName + ' ' + r.lastName)).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, ''),
  email: collapse(r.email).toLowerCase(),
  phone: r.phone.replace(/\\D+/g, ''),
  city: title(r.city),
  note: collapse(r.note).slice(0, 80),
}));
return { count: records.length, records };`,
    },
  ],
  makeInput(targetBytes) {
    const random = prng(3);
    const records: unknown[] = [];
    const base = { records };
    growTo(targetBytes, base, records, (i) => {
      const first = pick(random, FIRST);
      const last = pick(random, LAST);
      return {
        firstName: first,
        lastName: last,
        email: `  ${first.trim()}.${last.trim().replace(/\s+/g, '')}${i}@Example.ORG `,
        phone: `+1 (555) ${String(100 + (i % 900))}-${String(1000 + (i % 9000))}`,
        city: pick(random, CITIES),
        note: sentence(random, 10),
      };
    });
    return base;
  },
};

const cpuBound: BenchTransformation = {
  id: 'cpu-bound',
  description: 'CPU-bound step: FNV-1a hashing rounds over the payload text (about 500,000 characters) and a prime sieve to 50,000',
  steps: [
    {
      name: 'crunch',
      run: `const text = JSON.stringify(input.payload);
const rounds = Math.max(1, Math.ceil(input.work / text.length));
let hash = 0x811c9dc5;
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
}
const limit = input.primesBelow;
const sieve = new Uint8Array(limit + 1);
let primes = 0;
for (let i = 2; i <= limit; i++) {
  if (sieve[i] === 0) {
    primes++;
    for (let j = i * i; j <= limit; j += i) sieve[j] = 1;
  }
}
return { hash: (hash >>> 0).toString(16), rounds, primes };`,
    },
  ],
  makeInput(targetBytes) {
    const random = prng(4);
    const payload: unknown[] = [];
    const base = { work: 500_000, primesBelow: 50_000, payload };
    growTo(targetBytes, base, payload, (i) => ({ i, v: Math.round(random() * 1e6), w: sentence(random, 3) }));
    return base;
  },
};

const pipeline: BenchTransformation = {
  id: 'pipeline-5',
  description: '5-step pipeline over orders: validate, enrich, convert currency, filter, summarise',
  steps: [
    {
      name: 'validate',
      run: `return input.orders.filter((o) => typeof o.id === 'string' && Array.isArray(o.lines) && o.lines.length > 0);`,
    },
    {
      name: 'enrich',
      run: `return steps.validate.map((o) => ({
  ...o,
  total: o.lines.reduce((sum, line) => sum + line.qty * line.unitPrice, 0),
  units: o.lines.reduce((sum, line) => sum + line.qty, 0),
  currency: o.currency || 'EUR',
}));`,
    },
    {
      name: 'convert',
      run: `const rates = { EUR: 1, USD: 0.92, GBP: 1.17 };
return steps.enrich.map((o) => ({
  id: o.id,
  customer: o.customer,
  status: o.status,
  units: o.units,
  totalEur: Math.round(o.total * (rates[o.currency] || 1) * 100) / 100,
}));`,
    },
    {
      name: 'filter',
      run: `return steps.convert.filter((o) => o.status !== 'cancelled' && o.totalEur > 0);`,
    },
    {
      name: 'summarise',
      run: `const byCustomer = new Map();
let revenue = 0;
let units = 0;
for (const o of steps.filter) {
  revenue += o.totalEur;
  units += o.units;
  byCustomer.set(o.customer, (byCustomer.get(o.customer) || 0) + o.totalEur);
}
const topCustomers = [...byCustomer.entries()]
  .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  .slice(0, 3)
  .map(([customer, total]) => ({ customer, totalEur: Math.round(total * 100) / 100 }));
return {
  received: input.orders.length,
  valid: steps.validate.length,
  kept: steps.filter.length,
  units,
  revenueEur: Math.round(revenue * 100) / 100,
  topCustomers,
};`,
    },
  ],
  makeInput(targetBytes) {
    const random = prng(5);
    const orders: unknown[] = [];
    const base = { orders };
    growTo(targetBytes, base, orders, (i) => {
      const lines = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, n) => ({
        sku: `SKU-${(i * 7 + n) % 5000}`,
        qty: 1 + Math.floor(random() * 5),
        unitPrice: Math.round(random() * 10000) / 100,
      }));
      return {
        id: random() < 0.03 ? i : `ord_${i}`,
        customer: `cus_${Math.floor(random() * 200)}`,
        status: pick(random, STATUSES),
        currency: pick(random, CURRENCIES),
        lines: random() < 0.02 ? [] : lines,
      };
    });
    return base;
  },
};

export const TRANSFORMATIONS: readonly BenchTransformation[] = [objectMap, arrayAggregate, stringNormalise, cpuBound, pipeline];

/** The transformation as Beddel YAML (`beddel/v1`, no schemas, default limits). */
export function transformationYaml(transformation: BenchTransformation): string {
  const lines = ['apiVersion: beddel/v1', 'kind: Transformation', 'metadata:', `  name: bench-${transformation.id}`, '  version: "1.0.0"', 'spec:', '  steps:'];
  for (const step of transformation.steps) {
    lines.push(`    - name: ${step.name}`, '      run: |');
    for (const line of step.run.split('\n')) lines.push(line === '' ? '' : `        ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs the steps in plain Node (the reference semantics) and returns the output JSON. */
export function referenceOutputJson(transformation: BenchTransformation, input: unknown): string {
  const parsed: unknown = JSON.parse(JSON.stringify(input));
  const results: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let value: unknown = null;
  for (const step of transformation.steps) {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the bench's own corpus, run as the reference
    const fn = new Function('input', 'steps', `"use strict";\n${step.run}`) as (input: unknown, steps: unknown) => unknown;
    value = fn(parsed, results);
    results[step.name] = value;
  }
  return JSON.stringify(value === undefined ? null : value) ?? 'null';
}

export function buildScenario(transformation: BenchTransformation, size: InputSize): Scenario {
  const input = transformation.makeInput(size.bytes);
  return {
    id: `${transformation.id}@${size.label}`,
    transformation,
    size,
    input,
    inputBytes: Buffer.byteLength(JSON.stringify(input), 'utf8'),
    expectedOutputJson: referenceOutputJson(transformation, input),
  };
}

/** Scenario ids for `--quick`: every transformation at 1 KB, plus a few larger inputs. */
export const QUICK_SCENARIOS: readonly string[] = [
  'object-map@1KB',
  'array-aggregate@1KB',
  'string-normalise@1KB',
  'cpu-bound@1KB',
  'pipeline-5@1KB',
  'array-aggregate@100KB',
  'pipeline-5@100KB',
  'object-map@1MB',
];

export function allScenarioIds(): string[] {
  return TRANSFORMATIONS.flatMap((t) => INPUT_SIZES.map((size) => `${t.id}@${size.label}`));
}

export function buildScenarios(ids: readonly string[]): Scenario[] {
  return ids.map((id) => {
    const [transformationId, sizeLabel] = id.split('@');
    const transformation = TRANSFORMATIONS.find((t) => t.id === transformationId);
    const size = INPUT_SIZES.find((s) => s.label === sizeLabel);
    if (transformation === undefined || size === undefined) throw new Error(`Unknown scenario ${id}; known: ${allScenarioIds().join(', ')}`);
    return buildScenario(transformation, size);
  });
}
