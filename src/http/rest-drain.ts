import type { NextFunction, Request, Response } from 'express';
import { GracefulShutdown, waitUntil } from '../common/graceful-shutdown';

// The probes answer during a stop (/health says 503 shutting_down); everything else is refused.
const PROBES = new Set(['/health', '/metrics']);

// REST's part of a graceful stop: requests that arrived before it are answered (the stop's answer
// step waits for them); later ones get 503 {statusCode, code: "unavailable", message}, which the
// caller retries, through the load balancer, on another instance. socket.io's requests never come
// here (engine.io takes them before Express).
export function restDrain(shutdown: GracefulShutdown): (req: Request, res: Response, next: NextFunction) => void {
  let inFlight = 0;
  shutdown.register({ step: 'answer', name: 'REST requests in flight', run: (until) => waitUntil(() => inFlight === 0, until) });
  return (req, res, next) => {
    if (shutdown.draining && !PROBES.has(req.path)) {
      res.status(503).setHeader('connection', 'close');
      res.setHeader('retry-after', '1');
      res.json({ statusCode: 503, code: 'unavailable', message: 'this instance is shutting down, send again' });
      return;
    }
    inFlight++;
    let counted = true;
    const done = () => {
      if (counted) inFlight--;
      counted = false;
    };
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}
