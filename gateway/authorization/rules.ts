/**
 * Who may do what: THE table. Every root field of Query, Mutation and Subscription has a rule
 * here (the gateway refuses to start otherwise, and a test walks the schema's root fields from
 * introspection as anonymous, owner, other user and admin), plus the nested fields through
 * which another user's data could be reached.
 *
 * - public: anyone, signed in or not (market data, assets, similar assets, protocol analytics).
 * - admin: the `admin` role (price ingestion, sync, validation, cache and CDC operations, stats).
 * - owner: the signed-in user whose id is the argument at `arg`; an admin may also read (never
 *   change) any user's data, for support, where `adminMayRead`.
 * - ownParent: a field of a User object: that user is the viewer (or an admin reading).
 * - self: Query.user: by id, that id must be the viewer's; by handle, the user found must be
 *   the viewer (checked on the result, so another user's handle and an unknown handle get the
 *   same answer).
 */

/** A rule of the table. */
export type Rule =
  | { readonly kind: 'public' }
  | { readonly kind: 'admin' }
  | { readonly kind: 'owner'; readonly arg: string; readonly adminMayRead: boolean }
  | { readonly kind: 'ownParent'; readonly adminMayRead: boolean }
  | { readonly kind: 'self' };

const PUBLIC: Rule = { kind: 'public' };
const ADMIN: Rule = { kind: 'admin' };
const READ_OWN = (arg: string): Rule => ({ kind: 'owner', arg, adminMayRead: true });
const WRITE_OWN = (arg: string): Rule => ({ kind: 'owner', arg, adminMayRead: false });
const OWN_PARENT: Rule = { kind: 'ownParent', adminMayRead: true };

/** Rules by `Type.field`. */
export const RULES: Readonly<Record<string, Rule>> = {
  // A user's own data.
  'Query.user': { kind: 'self' },
  'Query.portfolio': READ_OWN('userId'),
  'Query.transactions': READ_OWN('userId'),
  'User.portfolio': OWN_PARENT,
  'User.transactions': OWN_PARENT,
  'User.activity': OWN_PARENT,
  'Mutation.recordTransaction': WRITE_OWN('input.userId'),
  'Mutation.updateHolding': WRITE_OWN('input.userId'),
  'Subscription.portfolioUpdated': READ_OWN('userId'),
  'Subscription.transactionRecorded': READ_OWN('userId'),

  // Market data and reference data: public.
  'Query.asset': PUBLIC,
  'Query.marketData': PUBLIC,
  'Query.similarAssets': PUBLIC,
  'Query.protocol': PUBLIC,
  'Query.protocolAnalytics': PUBLIC,
  'Query.protocolRankings': PUBLIC,
  'Subscription.priceUpdated': PUBLIC,

  // Operations: admins.
  'Query.cacheStats': ADMIN,
  'Query.cdcStats': ADMIN,
  'Query.syncStatus': ADMIN,
  'Query.job': ADMIN,
  'Query.jobs': ADMIN,
  'Query.health': ADMIN,
  'Query.deadLetters': ADMIN,
  'Mutation.redriveDeadLetters': ADMIN,
  'Mutation.ingestPrices': ADMIN,
  'Mutation.forceSync': ADMIN,
  'Mutation.validateConsistency': ADMIN,
  'Mutation.reconcile': ADMIN,
  'Mutation.purgeCache': ADMIN,
};
