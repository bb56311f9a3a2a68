import { localTime } from './transcript-wording';

// What Intl says the wall clock is, asked directly each time.
function intlWallClock(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const v = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${v('year').padStart(4, '0')}-${v('month')}-${v('day')} ${v('hour')}:${v('minute')}:${v('second')}`;
}

describe('localTime: the wall clock in a zone, from an offset kept per quarter hour', () => {
  // Zones with summer time (whole hours, half an hour on Lord Howe), odd offsets (Kathmandu,
  // Chatham), zones that changed their standard offset, and local mean time before 1900.
  const zones = [
    'Europe/London',
    'America/New_York',
    'Australia/Lord_Howe',
    'Asia/Kathmandu',
    'Pacific/Chatham',
    'America/Sao_Paulo',
    'Europe/Amsterdam',
    'Pacific/Apia',
    'UTC',
  ];

  it('agrees with Intl every 7 seconds and at the very change around summer-time changes', () => {
    // The spring and autumn changes of 2026 in London and New York, and Lord Howe's.
    const changes = [
      Date.UTC(2026, 2, 29, 1),
      Date.UTC(2026, 9, 25, 1),
      Date.UTC(2026, 2, 8, 7),
      Date.UTC(2026, 10, 1, 6),
      Date.UTC(2026, 3, 4, 15),
      Date.UTC(2026, 9, 3, 15, 30),
    ];
    for (const zone of ['Europe/London', 'America/New_York', 'Australia/Lord_Howe']) {
      for (const change of changes) {
        for (let t = change - 20 * 60_000; t <= change + 20 * 60_000; t += 7_000) {
          expect(localTime(new Date(t), zone)).toBe(intlWallClock(new Date(t), zone));
        }
        for (const t of [change - 1000, change - 1, change, change + 1, change + 999])
          expect(localTime(new Date(t), zone)).toBe(intlWallClock(new Date(t), zone));
      }
    }
  });

  it('agrees with Intl at random instants from year 1000 to 9999, and beyond', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const from = Date.UTC(1000, 0, 1);
    const to = Date.UTC(9999, 11, 31);
    for (let i = 0; i < 3000; i++) {
      const at = new Date(from + Math.floor(random() * (to - from)));
      const zone = zones[i % zones.length];
      expect(localTime(at, zone)).toBe(intlWallClock(at, zone));
    }
    for (const at of [new Date(Date.UTC(50, 0, 1)), new Date(-62198755200000), new Date(Date.UTC(999, 11, 31, 23, 59, 59)), new Date(8.64e15)]) {
      expect(localTime(at, 'Europe/Amsterdam')).toBe(intlWallClock(at, 'Europe/Amsterdam'));
    }
  });

  it('is null for an unknown zone, and throws on an invalid date as Intl does', () => {
    expect(localTime(new Date(0), 'Mars/Olympus')).toBeNull();
    expect(localTime(new Date(0), '')).toBeNull();
    expect(() => localTime(new Date(NaN), 'Europe/London')).toThrow(RangeError);
  });
});
