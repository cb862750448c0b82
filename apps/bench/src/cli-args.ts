import type { ExecutorMode } from '@beddel/executor-isolated-vm';

export interface CliArgs {
  readonly quick: boolean;
  readonly json?: string;
  readonly chart?: string;
  readonly markdown?: string;
  readonly engines?: readonly string[];
  readonly scenarios?: readonly string[];
  readonly extras: boolean;
  readonly soak?: number;
  /** Only the hostile-neighbour scenario. */
  readonly hostile: boolean;
  readonly soakTenants: number;
  readonly soakMode: ExecutorMode;
  readonly help: boolean;
}

export const USAGE = `Usage: pnpm bench [--quick] [--json <file>] [--chart <file.svg>] [--markdown <file>]
                  [--engines a,b] [--scenarios x@1KB,y@100KB] [--no-extras]
       pnpm bench --soak <N> [--soak-tenants <T>] [--soak-mode supervised|in-process] [--json <file>]

  --quick          the short run (under 2 minutes on 2 cores); default is the full run
  --json <file>    write the results as JSON; the SVG chart goes next to it (<file>.svg)
  --chart <file>   where to write the SVG chart (default: next to --json)
  --markdown <f>   write the tables as Markdown (what docs/benchmarks.md holds)
  --engines        engine ids to run (default: all)
  --scenarios      scenario ids to run (default: the quick set, or all)
  --no-extras      skip cold start, worker scaling, the 1,000-tenant run and the hostile neighbour
  --hostile        only the hostile-neighbour scenario (a victim tenant's latency during attacks)
  --soak <N>       soak mode: N executions across many tenants; reports RSS and heap growth
  --soak-tenants   tenants in the soak (default 400)
  --soak-mode      executor mode of the soak (default supervised)`;

function positiveInteger(flag: string, value: string | undefined): number {
  const parsed = Number(value?.replace(/_/g, ''));
  if (!Number.isSafeInteger(parsed) || parsed <= 0) throw new Error(`${flag} needs a positive integer, got ${String(value)}`);
  return parsed;
}

function list(value: string | undefined, flag: string): string[] {
  if (value === undefined || value === '') throw new Error(`${flag} needs a value`);
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

export function parseArgs(argv: readonly string[]): CliArgs {
  const args: { -readonly [K in keyof CliArgs]: CliArgs[K] } = { quick: false, extras: true, hostile: false, soakTenants: 400, soakMode: 'supervised', help: false };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith('--') && eq > 0 ? raw.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--':
        break; // `pnpm bench -- --quick` forwards the separator
      case '--quick':
        args.quick = true;
        break;
      case '--json':
        args.json = value();
        break;
      case '--chart':
        args.chart = value();
        break;
      case '--markdown':
        args.markdown = value();
        break;
      case '--engines':
        args.engines = list(value(), flag);
        break;
      case '--scenarios':
        args.scenarios = list(value(), flag);
        break;
      case '--no-extras':
        args.extras = false;
        break;
      case '--hostile':
        args.hostile = true;
        break;
      case '--soak':
        args.soak = positiveInteger(flag, value());
        break;
      case '--soak-tenants':
        args.soakTenants = positiveInteger(flag, value());
        break;
      case '--soak-mode': {
        const mode = value();
        if (mode !== 'supervised' && mode !== 'in-process') throw new Error(`--soak-mode is supervised or in-process, got ${String(mode)}`);
        args.soakMode = mode;
        break;
      }
      case '--help':
      case '-h':
        args.help = true;
        break;
      default:
        throw new Error(`Unknown argument ${raw}\n\n${USAGE}`);
    }
  }
  for (const key of ['json', 'chart', 'markdown'] as const) {
    if (key in args && (args[key] === undefined || args[key] === '')) throw new Error(`--${key} needs a file name`);
  }
  return args;
}

/** `out.json` -> `out.svg`; anything else gets `.svg` appended. */
export function chartPathFor(jsonPath: string): string {
  return jsonPath.endsWith('.json') ? `${jsonPath.slice(0, -'.json'.length)}.svg` : `${jsonPath}.svg`;
}
