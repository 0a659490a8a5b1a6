/** The shape of a per-field cost (QueryLimitOptions.fieldCosts). */

/** How one field is priced: its own cost, and the factor applied to its selection's cost. */
export interface FieldCost {
  /** The field's own cost (default 1). */
  readonly cost?: number;
  /**
   * Arguments giving the factor: a number as it is, a list by its length; the first one the
   * request sets wins, then the first one with an SDL default.
   */
  readonly multiplierArgs?: readonly string[];
  /** The factor when no multiplier argument applies (default: `defaultListMultiplier` for a list, else 1). */
  readonly defaultMultiplier?: number;
}
