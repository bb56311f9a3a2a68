import type { NextFunction, Request, Response } from 'express';

// Every route that takes a body takes JSON (contract section 6: a malformed body is 400). Express's
// parsers leave a body of another type unread, so a `text/plain` or form-encoded body reached the
// route as no body at all: `PUT /settings` answered 200 having changed nothing, and a form-encoded
// erasure request was accepted. A request that carries a body of another type is refused here.
// A request without a body (an end, a retry) needs no content type. socket.io's requests (its
// polling transport posts text/plain) never come here: engine.io takes them before Express.
const NOT_JSON_MESSAGE = 'the request body must be JSON (content-type: application/json)';

export function jsonBodiesOnly(): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    if (!carriesBody(req) || isJson(req.headers['content-type'])) return next();
    res.status(400).json({ statusCode: 400, code: 'bad_request', message: NOT_JSON_MESSAGE });
  };
}

function carriesBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

// application/json, or a structured +json type (application/merge-patch+json), with any parameters.
// The JSON body parser reads exactly these (main.ts), so a body let through here is also read.
export function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';', 1)[0].trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}
