/**
 * What refusing each hostile document costs (gateway/limits/hostile.ts), parse + validate, per
 * way of checking it:
 * - ours, as a server runs it: checkRequest (graphql-js's token cap while parsing, specifiedRules
 *   and our rules, then the cost with the variables);
 * - our walk alone (measureOperations, the document already parsed): what our rules add;
 * - ours without the token cap: parse, then specifiedRules and our rules on the whole document;
 * - graphql-js's specifiedRules alone;
 * - the depth rule the gateway had (gateway/plugins/depth-limit.ts at c7be26b, copied below:
 *   the file is gone), beside specifiedRules. It walks every path through the fragments: it runs
 *   on a fan-out of --old-levels (default 18) instead of 24, and its 24-level time is extrapolated;
 * - graphql-armor's max-aliases, max-directives and max-depth (flattenFragments), no cap;
 * - graphql-query-complexity's getComplexity (simpleEstimator, its default 10,000-node cap), no cap.
 * Usage: node bench/limits.ts [--runs 31] [--old-levels 18]. Writes bench/results/limits.json.
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { makeExecutableSchema } from '@graphql-tools/schema';
import {
  GraphQLError,
  Kind,
  parse,
  specifiedRules,
  validate,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { checkRequest } from '../gateway/limits/check-request.ts';
import { createQueryLimits } from '../gateway/limits/create-query-limits.ts';
import { fragmentFanOut, hostileDocuments, type HostileDocument } from '../gateway/limits/hostile.ts';
import { measureOperations } from '../gateway/limits/measure-operations.ts';
import { loadTypeDefs } from '../schema/index.ts';
import { machineLine, numberArg, quantile, saveResults } from './harness.ts';

const runs = numberArg('runs', 31);
const oldLevels = numberArg('old-levels', 18);
const schema = makeExecutableSchema({ typeDefs: loadTypeDefs() });
const limits = createQueryLimits();

/** gateway/plugins/depth-limit.ts as of c7be26b, unchanged but for its export: the rule we replace. */
function oldDepthLimitRule(maxDepth: number) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions)
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    let introspectionDepth = 0;
    const depthOf = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
      if (!set) return 0;
      let max = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          if (sel.name.value.startsWith('__')) {
            if (sel.selectionSet)
              introspectionDepth = Math.max(introspectionDepth, 1 + depthOf(sel.selectionSet, seen));
            continue;
          }
          max = Math.max(max, sel.selectionSet ? 1 + depthOf(sel.selectionSet, seen) : 1);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) max = Math.max(max, depthOf(sel.selectionSet, seen));
        else if (!seen.has(sel.name.value)) {
          const fragment = fragments.get(sel.name.value);
          max = Math.max(max, depthOf(fragment?.selectionSet, new Set([...seen, sel.name.value])));
        }
      }
      return max;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, new Set());
        if (introspectionDepth > 20)
          context.reportError(new GraphQLError(`Introspection is nested ${introspectionDepth} levels deep`));
        if (depth > maxDepth) context.reportError(new GraphQLError(`Query is nested ${depth} levels deep`));
      },
    };
  };
}

/** Documents parsed once, for the column timing our walk alone. */
const parsed = new Map<string, ReturnType<typeof parse>>();

/** A way of checking a document: its outcome in a few words, or the error it threw. */
type Check = (hostile: HostileDocument) => string;

const codes = (errors: readonly GraphQLError[]) => {
  const ours = [...new Set(errors.map((e) => e.extensions['code']).filter((c) => typeof c === 'string'))];
  return ours.length > 0 ? ours.join(', ') : errors.length > 0 ? `${errors.length} errors` : 'accepted';
};

const checks: Record<string, Check> = {
  ours: (h) => codes(checkRequest({ schema, limits, source: h.source, variables: h.variables }).errors ?? []),
  'our walk': (h) => {
    const document = parsed.get(h.source) ?? parse(h.source);
    parsed.set(h.source, document);
    const { operations } = measureOperations({ schema, document, limits: limits.options });
    return `cost ${[...operations.values()][0]!.cost}`;
  },
  'ours, no token cap': (h) => codes(validate(schema, parse(h.source), [...specifiedRules, ...limits.rules])),
  specifiedRules: (h) => codes(validate(schema, parse(h.source), specifiedRules)),
  'old depth rule': (h) => {
    const errors = validate(schema, parse(h.source), [...specifiedRules, oldDepthLimitRule(12)]);
    return errors.some((e) => /nested/.test(e.message)) ? 'depth refused' : codes(errors);
  },
  'graphql-armor': (h) => {
    // Its rules throw their refusal (propagateOnRejection, the default) out of validate().
    const errors = validate(schema, parse(h.source), [
      maxAliasesRule({ n: 30 }),
      maxDirectivesRule({ n: 50 }),
      maxDepthRule({ n: 12, flattenFragments: true }),
    ]);
    return codes(errors);
  },
  'graphql-query-complexity': (h) => {
    const complexity = getComplexity({
      schema,
      query: parse(h.source),
      variables: h.variables as Record<string, unknown> | undefined,
      estimators: [simpleEstimator({ defaultComplexity: 1 })],
    });
    return `complexity ${complexity}`;
  },
};

/** Median wall time of `check` on `hostile` in ms, and its outcome (a thrown error's message, shortened). */
function time(check: Check, hostile: HostileDocument, times: number): { ms: number; outcome: string } {
  const samples: number[] = [];
  let outcome = '';
  for (let i = 0; i < times + 3; i++) {
    const start = performance.now();
    try {
      outcome = check(hostile);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcome = error instanceof RangeError ? `throws RangeError: ${message}` : `throws: ${message.slice(0, 60)}`;
    }
    if (i >= 3) samples.push(performance.now() - start); // three warm-up runs
  }
  samples.sort((a, b) => a - b);
  return { ms: quantile(samples, 0.5), outcome };
}

const round = (ms: number) => (ms < 10 ? Math.round(ms * 100) / 100 : Math.round(ms));

const rows = hostileDocuments().map((hostile) => {
  const cells: Record<string, { ms: number; outcome: string }> = {};
  for (const [name, check] of Object.entries(checks)) {
    let document = hostile;
    if (name === 'old depth rule' && hostile.name === 'fan-out')
      document = { ...hostile, source: fragmentFanOut({ levels: oldLevels }) };
    const slow = name === 'old depth rule' || name === 'graphql-query-complexity';
    cells[name] = time(check, document, slow ? Math.min(runs, 3) : runs);
    cells[name].ms = round(cells[name].ms);
  }
  const variablesBytes = hostile.variables ? JSON.stringify(hostile.variables).length : 0;
  return {
    document: hostile.name,
    description: hostile.description,
    bytes: hostile.source.length,
    variablesBytes,
    cells,
  };
});

// The fan-out as it grows: ours stays flat, the per-path walks grow 4 times per 2 levels.
const scaling = [12, 14, 16, 18, 24].map((levels) => {
  const hostile = { ...hostileDocuments()[0]!, source: fragmentFanOut({ levels }) };
  const ours = round(time(checks['ours, no token cap']!, hostile, runs).ms);
  const old = levels <= oldLevels ? round(time(checks['old depth rule']!, hostile, 3).ms) : undefined;
  const uncapped: Check = (h) =>
    `complexity ${getComplexity({ schema, query: parse(h.source), maxQueryNodes: Infinity, estimators: [simpleEstimator({ defaultComplexity: 1 })] })}`;
  const complexity = levels <= oldLevels ? round(time(uncapped, hostile, 3).ms) : undefined;
  return { levels, bytes: hostile.source.length, ours, oldDepthRule: old, queryComplexityUncapped: complexity };
});
// Extrapolated at the growth per level of the last two sizes measured (2 levels apart).
const [before, last] = scaling.filter((s) => s.oldDepthRule !== undefined).slice(-2) as [
  (typeof scaling)[number],
  (typeof scaling)[number],
];
const perLevel = Math.sqrt(last.oldDepthRule! / before.oldDepthRule!);
const oldAt24 = Math.round((last.oldDepthRule! * perLevel ** (24 - last.levels)) / 1000);

saveResults('limits', {
  runs,
  note: `Median of ${runs} runs (3 for the old depth rule and graphql-query-complexity) after 3 warm-up runs; the old depth rule runs on the ${oldLevels}-level fan-out, not 24 (it grows ${perLevel.toFixed(1)} times per level: about ${oldAt24} s at 24).`,
  rows,
  fanOutScaling: scaling,
});

const columns = Object.keys(checks);
const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
console.log(`Machine: ${machineLine}; median of ${runs} runs, parse + validate (our walk: the walk alone)\n`);
console.log(line(['document', 'bytes', ...columns.map((c) => `${c} ms`)]));
console.log(line(['---', '---:', ...columns.map(() => '---:')]));
for (const row of rows) {
  const name = row.document === 'fan-out' ? `fan-out (old rule: ${oldLevels} levels)` : row.document;
  console.log(line([name, String(row.bytes), ...columns.map((c) => String(row.cells[c]!.ms))]));
}
console.log('\nOutcome:\n');
console.log(line(['document', ...columns]));
console.log(line(['---', ...columns.map(() => '---')]));
for (const row of rows)
  console.log(line([row.document, ...columns.map((c) => row.cells[c]!.outcome.replaceAll('|', '/'))]));
console.log('\nFan-out by levels (ms):\n');
console.log(line(['levels', 'bytes', 'ours, no token cap', 'old depth rule', 'graphql-query-complexity, no node cap']));
console.log(line(['---:', '---:', '---:', '---:', '---:']));
for (const s of scaling)
  console.log(
    line([
      String(s.levels),
      String(s.bytes),
      String(s.ours),
      String(s.oldDepthRule ?? '-'),
      String(s.queryComplexityUncapped ?? '-'),
    ]),
  );
console.log(
  `\nThe old depth rule grows ${perLevel.toFixed(1)} times per level: about ${oldAt24} s at 24 levels (extrapolated).`,
);
