// kafkajs ships no types for its internal modules; the one we patch is typed where it is used.
declare module 'kafkajs/src/network/requestQueue/index.js' {
  const RequestQueue: unknown
  export default RequestQueue
}
