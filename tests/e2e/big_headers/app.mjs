// Throws an Error whose message is event.n bytes long: AWS's aws-lambda-ric then posts the
// error with its X-Ray cause (which holds the message) as a request header of that size.
export const handler = async (event) => {
  throw new Error("bad input: " + "x".repeat(event.n));
};
