import { Injectable } from '@nestjs/common';

// Time behind an injectable so that services test with a fake clock.
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
