// A 204 answer has no body, so `call` and `useAction` would give `undefined` for it, the
// same as for a failure: this makes success `true`, for an action to test.

interface Answer {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** The request's answer, with `data: true` when it succeeded without a body. */
export async function noContent<A extends Answer>(
  request: Promise<A>,
): Promise<{ data?: true; error?: unknown; response: Response }> {
  const answer = await request;
  return answer.response.ok
    ? { data: true, response: answer.response }
    : { error: answer.error, response: answer.response };
}
