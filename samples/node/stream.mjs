// A response-streaming Node.js handler (awslambda.streamifyResponse, provided by
// aws-lambda-ric): the runtime posts the response in chunks with
// Lambda-Runtime-Function-Response-Mode: streaming, and a failure after the first chunk is
// reported in the HTTP trailers (Lambda-Runtime-Function-Error-Type / -Body).
// {"parts": N} streams N lines; {"fail": "message"} fails after the first line.
/* global awslambda */
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const parts = Number.isInteger(event.parts) ? event.parts : 3;
  for (let i = 1; i <= parts; i++) {
    responseStream.write(`part ${i} of ${parts}\n`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (typeof event.fail === "string") throw new Error(event.fail);
  }
  responseStream.end();
});
