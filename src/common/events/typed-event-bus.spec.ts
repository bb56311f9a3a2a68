import { Logger } from '@nestjs/common';
import { AfterCommit, TypedEventBus } from './typed-event-bus';

type Events = { 'a.done': { id: string }; 'b.done': { n: number } };

describe('TypedEventBus and AfterCommit', () => {
  it('holds events until flushed, then fires them in the order raised', () => {
    const bus = new TypedEventBus<Events>();
    const heard: string[] = [];
    bus.on('a.done', ({ id }) => heard.push(`a:${id}`));
    bus.on('b.done', ({ n }) => heard.push(`b:${n}`));
    const tx = new AfterCommit(bus);
    tx.emit('b.done', { n: 1 });
    tx.emit('a.done', { id: 'x' });
    expect(heard).toEqual([]);
    tx.flush();
    expect(heard).toEqual(['b:1', 'a:x']);
    tx.flush();
    expect(heard).toEqual(['b:1', 'a:x']);
  });

  it('fires nothing for a transaction that never committed', () => {
    const bus = new TypedEventBus<Events>();
    const heard: unknown[] = [];
    bus.on('a.done', (p) => heard.push(p));
    new AfterCommit(bus).emit('a.done', { id: 'rolled back' });
    expect(heard).toEqual([]);
  });

  it('runs listeners in subscription order, and a failing one neither throws nor stops the rest', () => {
    const bus = new TypedEventBus<Events>();
    const heard: string[] = [];
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    bus.on('a.done', () => heard.push('first'));
    bus.on('a.done', () => {
      throw new Error('boom');
    });
    bus.on('a.done', () => heard.push('third'));
    expect(() => bus.emit('a.done', { id: 'x' })).not.toThrow();
    expect(heard).toEqual(['first', 'third']);
    expect(error).toHaveBeenCalledTimes(1);
    error.mockRestore();
  });
});
