export { type DemoShape, defaultShape, demoPlan, type Phase, podsFor } from './plan.ts';
