import { Parser } from 'csv-parse';
const p = new Parser({ bom: true, raw: true, relax_column_count: true, encoding: null });
p.on('error', (e)=>console.log('err', e.message));
p.write(Buffer.concat([Buffer.from('a,b\n1,"x'), Buffer.from([0xff, 0xc3]), Buffer.from('"\n3,4\n')]));
p.end();
for await (const r of p) console.log(r, typeof r.raw, Buffer.isBuffer(r.raw));
