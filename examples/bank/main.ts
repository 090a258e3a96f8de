/**
 * Transfers between bank accounts on a strong collection: money is never created, lost or
 * overdrawn.
 *
 *     npm run example:bank                 (add -- --short for a quick run)
 *
 * Several tellers (each its own connection) move random amounts between random accounts at the
 * same time. Each transfer is one transaction: take from one balance, add to the other, and
 * record the transfer under a unique key, all or nothing, only if the payer's balance is still
 * `>= 0` afterwards. An auditor watches every account through a live query and checks the total
 * and the balances after every change it sees (a transaction's changes arrive together, so it
 * never sees half a transfer). At the end the total is the same as at the start.
 */
import {
  type Collection,
  connect,
  isTributaryError,
  type TributaryClient,
} from '../../src/client/node/index.js';
import { randomInt, SHORT, startLocalServer, timeLimit } from '../shared/run.js';

const ACCOUNTS = SHORT ? 4 : 8;
const OPENING_BALANCE = SHORT ? 100 : 1_000;
const TELLERS = SHORT ? 2 : 4;
const RUN_FOR_MS = SHORT ? 2_000 : 8_000;
const EXPECTED_TOTAL = ACCOUNTS * OPENING_BALANCE;

timeLimit(RUN_FOR_MS + 30_000, 'bank');
const server = await startLocalServer();
console.log(`Tributary server on ${server.url}`);
const bank = await connect({ url: server.url, clientName: 'bank' });
// One partition: a transaction's keys must share a partition.
await bank.admin.createCollection('accounts', { mode: 'strong', partitions: 1 });
const accounts = bank.collection('accounts');
const ids = Array.from({ length: ACCOUNTS }, (_, i) => `acct-${String(i + 1).padStart(2, '0')}`);
for (const id of ids) await accounts.put(id, { balance: OPENING_BALANCE }, { ifVersion: -1 });
console.log(`${ACCOUNTS} accounts opened with ${OPENING_BALANCE} each: total ${EXPECTED_TOTAL}`);

// The auditor: a live query of every account, checked after every change.
const auditor = await connect({ url: server.url, clientName: 'auditor' });
const ledger = auditor.collection('accounts').subscribe({ keyPrefix: 'acct-' });
await ledger.ready;
let statesAudited = 0;
const violations: string[] = [];
ledger.on('change', () => {
  statesAudited++;
  const balances = ledger.current().map((item) => item.value.balance as number);
  const total = balances.reduce((a, b) => a + b, 0);
  if (total !== EXPECTED_TOTAL) violations.push(`total ${total} after change ${statesAudited}`);
  if (balances.some((b) => b < 0)) violations.push(`negative balance after change ${statesAudited}`);
});

/** One teller: random transfers until the time is up. */
async function teller(name: string, client: TributaryClient, deadline: number) {
  const collection: Collection = client.collection('accounts');
  const stats = { committed: 0, declined: 0, moved: 0 };
  for (let n = 1; Date.now() < deadline; n++) {
    const from = ids[randomInt(0, ids.length - 1)]!;
    const to = ids.filter((id) => id !== from)[randomInt(0, ids.length - 2)]!;
    const amount = randomInt(1, OPENING_BALANCE / 2);
    try {
      await collection.transact(
        [
          { op: 'increment', key: from, field: 'balance', by: -amount },
          { op: 'increment', key: to, field: 'balance', by: amount },
          // Created only if absent: this transfer can never be applied twice.
          { op: 'put', key: `transfer-${name}-${n}`, value: { from, to, amount }, ifVersion: -1 },
        ],
        [{ key: from, field: 'balance', op: '>=', value: 0, when: 'after' }],
      );
      stats.committed++;
      stats.moved += amount;
    } catch (error) {
      if (!isTributaryError(error, 'PRECONDITION_FAILED')) throw error;
      stats.declined++; // insufficient funds: nothing was written
    }
  }
  return stats;
}

const deadline = Date.now() + RUN_FOR_MS;
const tellers = await Promise.all(
  Array.from({ length: TELLERS }, (_, i) => connect({ url: server.url, clientName: `teller-${i + 1}` })),
);
console.log(`${TELLERS} tellers transferring for ${RUN_FOR_MS / 1000} s…`);
const results = await Promise.all(tellers.map((client, i) => teller(`t${i + 1}`, client, deadline)));
await Promise.all(tellers.map((client) => client.close()));

// Final state, as the bank reads it (linearizable).
const final = (await accounts.query({ keyPrefix: 'acct-' })).items;
const transfers = (await accounts.query({ keyPrefix: 'transfer-' })).items;
console.log('\naccount   balance');
for (const item of final) console.log(`${item.key}  ${String(item.value.balance).padStart(8)}`);
const total = final.reduce((sum, item) => sum + (item.value.balance as number), 0);
const committed = results.reduce((sum, r) => sum + r.committed, 0);
const declined = results.reduce((sum, r) => sum + r.declined, 0);
const moved = results.reduce((sum, r) => sum + r.moved, 0);
console.log(`total     ${String(total).padStart(8)}`);
results.forEach((r, i) => {
  console.log(
    `teller ${i + 1}: ${r.committed} transfers committed, ${r.declined} declined (insufficient funds)`,
  );
});
await auditor.close();
await bank.close();
await server.close();

const problems = [...violations];
if (total !== EXPECTED_TOTAL) problems.push(`final total ${total}, expected ${EXPECTED_TOTAL}`);
if (final.some((item) => (item.value.balance as number) < 0)) problems.push('a final balance is negative');
if (transfers.length !== committed)
  problems.push(`${transfers.length} transfer records for ${committed} commits`);
if (committed === 0) problems.push('no transfer was committed');
if (problems.length > 0) {
  console.error(`\nbank: FAILED\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `\nbank: OK, total conserved: ${total} = ${ACCOUNTS} × ${OPENING_BALANCE}; ${committed} transfers ` +
    `moved ${moved}, ${declined} declined for insufficient funds; no negative balance in ` +
    `${statesAudited} audited states`,
);
