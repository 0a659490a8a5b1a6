/**
 * A validation rule refusing operations whose measure (from measureOperations) exceeds a limit.
 * The measures come from one walk shared by every such rule (the caller memoizes `measuresOf`
 * per document), so six rules cost one linear pass, not six.
 */
import type { ASTVisitor, OperationDefinitionNode, ValidationContext, ValidationRule } from 'graphql';
import type { DocumentMeasures, OperationMeasures } from './measure-operations.ts';
import { QueryLimitError, type QueryLimitCode } from './query-limit-error.ts';
import { MEASURE_CEILING } from './saturating.ts';

/** Builds a rule reporting `code` for each operation whose `measure` is above `allowed`. */
export function createMeasureRule(options: {
  code: QueryLimitCode;
  allowed: number;
  measure: keyof OperationMeasures;
  /** The measures of the context's document, memoized by the caller. */
  measuresOf: (context: ValidationContext) => DocumentMeasures;
  /** The message's subject, e.g. (n) => `is nested ${n} levels deep`. */
  describe: (measured: string) => string;
}): ValidationRule {
  const { code, allowed } = options;
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const measured = options.measuresOf(context).operations.get(node)?.[options.measure];
      if (measured === undefined || measured <= allowed) return;
      context.reportError(
        new QueryLimitError({
          code,
          measured,
          allowed,
          message: `${operationLabel(node)} ${options.describe(amount(measured))}; the limit is ${allowed}.`,
          nodes: node,
        }),
      );
    },
  });
}

/** "Operation \"Name\"", or "The operation" when it has none: the start of every limit's message. */
export function operationLabel(node: OperationDefinitionNode): string {
  return node.name ? `Operation "${node.name.value}"` : 'The operation';
}

/** A measure as a message shows it; a saturated one is a floor, not a figure. */
export function amount(measured: number): string {
  return measured >= MEASURE_CEILING ? `at least ${MEASURE_CEILING}` : String(measured);
}
