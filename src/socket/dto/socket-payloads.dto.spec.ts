import fc from 'fast-check';
import { AppException } from '../../common/app.exception';
import { validatePayload } from '../../common/validate';
import { AgentMessageDto, CustomerMessageDto, parseAgentMessage, parseCustomerMessage } from './socket-payloads.dto';

function outcome(fn: () => object): { ok: true; value: object } | { ok: false; code: string } {
  try {
    return { ok: true, value: { ...fn() } };
  } catch (e) {
    return { ok: false, code: (e as AppException).code };
  }
}

const anyValue = fc.oneof(
  fc.string(),
  fc.constant(''),
  fc.string({ minLength: 120, maxLength: 140 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);
const payloads = fc.oneof(
  fc.record({ chatId: anyValue, clientMsgId: anyValue, text: anyValue }, { requiredKeys: [] }),
  fc.record({ chatId: fc.string({ maxLength: 70 }), clientMsgId: fc.string({ maxLength: 130 }), text: fc.string() }),
  anyValue,
  fc.constant(undefined),
);

// The hand-written hot-path parsers must accept and refuse exactly what the DTOs do.
describe('fast message parsers agree with the DTOs', () => {
  it('customer message', () => {
    fc.assert(
      fc.property(payloads, (p) => {
        const fast = outcome(() => parseCustomerMessage(p));
        const slow = outcome(() => validatePayload(CustomerMessageDto, p));
        expect(fast).toEqual(slow);
      }),
      { numRuns: 3000 },
    );
  });

  it('agent message', () => {
    fc.assert(
      fc.property(payloads, (p) => {
        const fast = outcome(() => parseAgentMessage(p));
        const slow = outcome(() => validatePayload(AgentMessageDto, p));
        expect(fast).toEqual(slow);
      }),
      { numRuns: 3000 },
    );
  });

  it('strips unknown fields like the DTOs, including __proto__ keys', () => {
    const p = JSON.parse('{"clientMsgId":"a","text":"b","__proto__":{"polluted":true},"extra":1}') as unknown;
    expect(parseCustomerMessage(p)).toEqual({ clientMsgId: 'a', text: 'b' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
