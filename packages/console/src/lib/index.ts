/** The console's pure parts, for tests and for other tools that render the same views. */
export { type Api, ApiError, createApi, errorMessage } from './api.ts';
export { chartView, legend, stepPath } from './chart.ts';
export { clock, summary } from './describe.ts';
export { chainView, comparisonText, explanationDetails, explanationOf } from './explain.ts';
export * from './filters.ts';
export { byClass, findAll, h, textOf, type VNode } from './h.ts';
export { alertsView, deadLettersView, silenceScope, silencesView, timelineView } from './panels.ts';
export {
  type Cadences,
  capByCadence,
  type Fold,
  foldContents,
  foldRoutine,
  isFold,
  routineIds,
  type TimelineItem,
} from './routine.ts';
export {
  buildSeries,
  chartEventTypes,
  fitStart,
  type HoldSpan,
  heldBy,
  heldNow,
  lastValue,
  type Point,
  type PoolSeries,
  valuesOf,
} from './series.ts';
export * from './types.ts';
