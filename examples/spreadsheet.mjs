// A spreadsheet of cells, ReacTcl's own kind of use: inputs are the typed-in cells,
// formulas are cells, and a sheet recomputes only what a change reaches.
//
// Run: npm run demo:spreadsheet   (builds, then runs this file)
import { batch, cell, effect, input, memo } from 'memocell';

const recomputed = [];
/** A formula cell that logs when it actually recomputes. */
function formula(name, fn) {
  return cell(() => {
    recomputed.push(name);
    return fn();
  }, { name });
}

// Typed-in cells: item, unit price, quantity.
const rows = [
  { item: 'widgets', price: input(2.5), qty: input(40) },
  { item: 'gadgets', price: input(12), qty: input(3) },
  { item: 'gizmos', price: input(7.25), qty: input(8) },
];
const taxRate = input(0.2, { name: 'taxRate' });

// Column D: line totals, one cell per row.
const lineTotal = rows.map((row, i) => formula(`D${i + 1}`, () => row.price.get() * row.qty.get()));
// A memoised family over column letters, like =SUM(D1:D3): one entry per column.
const sumColumn = memo((column) => {
  recomputed.push(`SUM(${column})`);
  const cells = column === 'D' ? lineTotal : rows.map((row) => row.qty);
  return cells.reduce((sum, c) => sum + c.get(), 0);
}, { name: 'SUM' });
const subtotal = formula('subtotal', () => sumColumn('D'));
const tax = formula('tax', () => Math.round(subtotal.get() * taxRate.get() * 100) / 100);
const total = formula('total', () => subtotal.get() + tax.get());
// Equality cutoff: a band changes only when the total crosses a threshold.
const band = formula('band', () => (total.get() >= 250 ? 'large order' : 'small order'));

function show() {
  console.log('  item       price    qty    total');
  rows.forEach((row, i) => {
    const cols = [row.item.padEnd(8), row.price.get().toFixed(2).padStart(7), String(row.qty.get()).padStart(6)];
    console.log(`  ${cols.join(' ')} ${lineTotal[i].get().toFixed(2).padStart(8)}`);
  });
  console.log(`  units ${sumColumn('C')}, subtotal ${subtotal.get().toFixed(2)}, tax ${tax.get().toFixed(2)}, ` +
    `total ${total.get().toFixed(2)} (${band.get()})`);
  console.log(`  recomputed: ${recomputed.splice(0).join(', ') || 'nothing'}`);
}

/** Prints what changes, makes the change (effects run inside it), then shows the sheet. */
function step(title, change) {
  console.log(`\n${title}`);
  change();
  show();
}

// The link out of the sheet: an effect that runs when the band changes, and only then.
console.log('Effect created; it runs at once:');
const stop = effect(() => console.log(`  [effect] this is a ${band.get()}`));

step('Initial sheet', () => {});
step('gadgets qty 3 -> 4: only row 2, the sums and the totals recompute', () => rows[1].qty.set(4));
step('gadgets qty set to 4 again: an equal value recomputes nothing', () => rows[1].qty.set(4));
step('widgets price and qty changed in one batch: row 1 recomputes once', () =>
  batch(() => {
    rows[0].price.set(3);
    rows[0].qty.set(50);
  }),
);
step('tax rate set to the same 20%: nothing', () => taxRate.set(0.2));
step('tax rate 20% -> 10%: tax and total recompute; the band stays, so the effect stays quiet', () => taxRate.set(0.1));
stop();
