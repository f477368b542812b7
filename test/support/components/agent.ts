// An agent's control listener and schedule, for tests that play an agent answering control requests.
export { listenForControl } from '../../../agent/src/control.ts'
export { defaultSchedule, FamilyScheduler, type Schedule } from '../../../agent/src/schedule.ts'
export { zeroNetDevCounters } from '../../../agent/src/collectors/netdev.ts'
