// The `parties` of a recording's vCon: the customer, each agent or supervisor, the flow, and the
// company (the organisation that made the vCon and adds its attachments). Indices are handed out in
// a fixed order (customer, the recording's agents, flow, company), then to anyone else as they are
// first met in the entries, so rendering the same recording twice gives the same indices.
import type { SenderRole, TranscriptHeader } from './transcript-entry';

// Party Object parameters of the draft only (name, type, uuid, org): no extension is needed.
export interface VconParty {
  name: string;
  type: 'person' | 'bot' | 'organization';
  uuid?: string;
  org?: string;
}

// What we know of a party beyond the draft's parameters; the `recording` attachment lists it.
export interface VconPartyRole {
  party: number;
  role: 'customer' | 'agent' | 'supervisor' | 'flow' | 'company';
  id: string | null;
}

export class VconParties {
  readonly parties: VconParty[] = [];
  readonly roles: VconPartyRole[] = [];
  private readonly byKey = new Map<string, number>();
  private flowNamed = false;
  readonly customer: number;
  readonly flow: number;
  readonly company: number;

  constructor(private readonly header: TranscriptHeader) {
    const c = header.customer;
    // The draft's way of saying that a party's name is not known or not told.
    this.customer = this.add('customer', { name: c.name?.trim() ? c.name : 'anonymous', type: 'person', ...(c.id ? { uuid: c.id } : {}) }, 'customer', c.id);
    for (const a of header.agents) {
      this.add(`staff:${a.id}`, this.staffParty(a.id, a.name ?? a.login), a.role ?? 'agent', a.id);
    }
    this.flow = this.add('flow', { name: 'flow', type: 'bot', org: header.companyId }, 'flow', null);
    this.company = this.add('company', { name: header.companyId, type: 'organization', org: header.companyId }, 'company', null);
  }

  // The party of a message's sender or a marker's actor.
  of(role: SenderRole, id: string | null | undefined, name: string): number {
    switch (role) {
      case 'customer':
        return this.customer;
      case 'flow':
        // The flow's bot name, from its first message or marker: one party for the chat flow.
        if (!this.flowNamed && name.trim() && name !== 'flow') {
          this.parties[this.flow].name = name;
          this.flowNamed = true;
        }
        return this.flow;
      case 'system':
        return this.company;
      case 'agent':
      case 'supervisor': {
        const key = id ? `staff:${id}` : `staff-name:${name}`;
        const known = this.byKey.get(key);
        if (known !== undefined) return known;
        return this.add(key, this.staffParty(id ?? null, name), role, id ?? null);
      }
      default:
        return this.company;
    }
  }

  private staffParty(id: string | null, name: string | null): VconParty {
    return { name: name?.trim() ? name : (id ?? 'unknown'), type: 'person', ...(id ? { uuid: id } : {}), org: this.header.companyId };
  }

  private add(key: string, party: VconParty, role: VconPartyRole['role'], id: string | null): number {
    const index = this.parties.length;
    this.parties.push(party);
    this.roles.push({ party: index, role, id });
    this.byKey.set(key, index);
    return index;
  }
}
