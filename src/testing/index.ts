/**
 * memocell/testing: property tests for code that uses memocell. Needs `fast-check`
 * (the arbitraries you pass come from it).
 */
export {
  checkReferentialTransparency,
  ReferentialTransparencyError,
  type ArgumentArbitraries,
  type InputValues,
  type Memoised,
  type MemoisedAndDirect,
  type ReferentialTransparencyFailure,
  type ReferentialTransparencyOptions,
  type Settable,
} from './referential-transparency.js';
export { deepEqual } from './equality.js';
