import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { createHadoopConf, loadHadoopConf, parseHadoopConfXml, resolveNameNodes } from '../src/hadoop-conf.ts';
import { formatClusterFileUrl, parseWebHdfsCluster } from '../src/webhdfs-url.ts';

const site = (properties: Record<string, string>): string =>
  `<?xml version="1.0"?>\n<configuration>\n${Object.entries(properties).map(([name, value]) => `  <property><name>${name}</name><value>${value}</value></property>`).join('\n')}\n</configuration>\n`;

function confDir(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-hadoop-conf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const invalidConfig = (pattern: RegExp) => (error: unknown): boolean => {
  assert.ok(isSluiceError(error), `a SluiceError, got ${String(error)}`);
  assert.equal(error.code, ErrorCode.INVALID_CONFIG);
  assert.match(error.message, pattern);
  return true;
};

const conf = (properties: Record<string, string>, env: Record<string, string> = {}) =>
  createHadoopConf(new Map(Object.entries(properties)), ['/etc/hadoop/conf/hdfs-site.xml'], env);

test('parses properties as child elements or attributes, with entities, CDATA and comments', () => {
  const xml = `<?xml version="1.0"?>
<!-- a comment -->
<configuration>
  <property><name> dfs.a </name><value>x &amp; y</value><final>true</final></property>
  <property><name>dfs.b</name><value><![CDATA[<raw>]]></value></property>
  <property><name>dfs.empty</name><value></value></property>
  <property><name>dfs.novalue</name></property>
  <property name="dfs.attr" value="from attributes"/>
  <property><value>a value without a name is ignored, as Hadoop does</value></property>
</configuration>`;
  assert.deepEqual([...parseHadoopConfXml(xml, 'x.xml')], [
    ['dfs.a', 'x & y'],
    ['dfs.b', '<raw>'],
    ['dfs.empty', ''],
    ['dfs.novalue', ''],
    ['dfs.attr', 'from attributes'],
  ]);
});

test('a malformed file, a file that is not a configuration, and xi:include fail naming the file', () => {
  assert.throws(() => parseHadoopConfXml('<configuration>\n<property><name>a</name></configuration>', '/c/hdfs-site.xml'), invalidConfig(/^\/c\/hdfs-site\.xml:2:\d+: not well-formed XML/u));
  assert.throws(() => parseHadoopConfXml('<properties/>', '/c/core-site.xml'), invalidConfig(/\/c\/core-site\.xml has no <configuration>/u));
  assert.throws(
    () => parseHadoopConfXml('<configuration xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="more.xml"/></configuration>', '/c/hdfs-site.xml'),
    invalidConfig(/uses xi:include/u),
  );
});

test('values expand ${name} from other properties and ${env.NAME} from the environment, as Hadoop does', () => {
  const c = conf({ host: 'nn1.example', 'dfs.namenode.http-address': '${host}:${env.NN_PORT}', self: 'a${self}', unknown: '${nope}' }, { NN_PORT: '9870' });
  assert.equal(c.get('dfs.namenode.http-address'), 'nn1.example:9870');
  assert.equal(c.get('self'), 'a${self}', 'a self-reference stays as written');
  assert.equal(c.get('unknown'), '${nope}');
  assert.equal(c.get('absent'), undefined);
});

test('an HA nameservice resolves to its NameNodes in the order dfs.ha.namenodes lists them', () => {
  const c = conf({
    'dfs.nameservices': 'other, ha',
    'dfs.ha.namenodes.ha': 'nn2 , nn1',
    'dfs.namenode.rpc-address.ha.nn1': 'nn1.example:8020',
    'dfs.namenode.rpc-address.ha.nn2': 'nn2.example:8020',
    'dfs.namenode.http-address.ha.nn1': 'nn1.example:9870',
    'dfs.namenode.http-address.ha.nn2': '0.0.0.0:50070',
  });
  assert.deepEqual(resolveNameNodes(c, 'ha'), { httpAddresses: ['http://nn2.example:50070', 'http://nn1.example:9870'], nameservice: 'ha' });
});

test('HTTPS_ONLY uses the https addresses; a missing HTTP address falls back to the RPC host on the default port', () => {
  const c = conf({
    'dfs.http.policy': 'HTTPS_ONLY',
    'dfs.nameservices': 'ha',
    'dfs.ha.namenodes.ha': 'a,b',
    'dfs.namenode.https-address.ha.a': 'a.example:9871',
    'dfs.namenode.http-address.ha.a': 'a.example:9870',
    'dfs.namenode.rpc-address.ha.b': 'b.example:8020',
  });
  assert.deepEqual(resolveNameNodes(c, 'ha').httpAddresses, ['https://a.example:9871', 'https://b.example:9871']);
});

test('hdfs://host:port and hdfs:///path find the NameNode by its RPC address or fs.defaultFS', () => {
  const federated = conf({
    'fs.defaultFS': 'hdfs://nn1.example:8020',
    'dfs.nameservices': 'ns1,ns2',
    'dfs.namenode.rpc-address.ns1': 'nn1.example:8020',
    'dfs.namenode.http-address.ns1': 'nn1.example:9870',
    'dfs.namenode.rpc-address.ns2': 'NN2.example',
    'dfs.namenode.http-address.ns2': 'nn2.example:9870',
  });
  assert.deepEqual(resolveNameNodes(federated, 'nn1.example:8020'), { httpAddresses: ['http://nn1.example:9870'], nameservice: undefined });
  assert.deepEqual(resolveNameNodes(federated, 'nn2.example'), { httpAddresses: ['http://nn2.example:9870'], nameservice: undefined }, 'the default RPC port 8020, host names compared case-insensitively');
  assert.deepEqual(resolveNameNodes(federated, ''), { httpAddresses: ['http://nn1.example:9870'], nameservice: undefined });
  assert.deepEqual(resolveNameNodes(federated, 'ns2'), { httpAddresses: ['http://nn2.example:9870'], nameservice: 'ns2' }, 'a federated nameservice without HA');

  const lone = conf({ 'fs.defaultFS': 'hdfs://nn.example:9000', 'dfs.namenode.http-address': 'nn.example:50070' });
  assert.deepEqual(resolveNameNodes(lone, 'nn.example:9000').httpAddresses, ['http://nn.example:50070'], 'without dfs.namenode.rpc-address the NameNode is where fs.defaultFS points');
  assert.deepEqual(resolveNameNodes(conf({ 'fs.defaultFS': 'hdfs://nn.example:8020' }), '').httpAddresses, ['http://nn.example:9870'], 'and serves HTTP on 9870 by default');
  assert.deepEqual(resolveNameNodes(conf({ 'fs.defaultFS': 'hdfs://ha', 'dfs.nameservices': 'ha', 'dfs.ha.namenodes.ha': 'x', 'dfs.namenode.http-address.ha.x': 'x:1' }), '').nameservice, 'ha');
});

test('what the configuration cannot resolve fails with the property to set', () => {
  assert.throws(() => resolveNameNodes(conf({}), ''), invalidConfig(/hdfs:\/\/\/path takes its NameNode from fs\.defaultFS, which \/etc\/hadoop\/conf\/hdfs-site\.xml does not set/u));
  assert.throws(() => resolveNameNodes(conf({ 'fs.defaultFS': 'file:///' }), ''), invalidConfig(/fs\.defaultFS .* is 'file:\/\/\/', not hdfs:\/\//u));
  assert.throws(
    () => resolveNameNodes(conf({ 'dfs.nameservices': 'ha', 'dfs.namenode.rpc-address': 'nn:8020' }), 'elsewhere:8020'),
    invalidConfig(/hdfs:\/\/elsewhere:8020 is neither a nameservice \(dfs\.nameservices: ha\) nor a NameNode RPC address \(dfs\.namenode\.rpc-address: nn:8020\)/u),
  );
  assert.throws(
    () => resolveNameNodes(conf({ 'dfs.nameservices': 'ha', 'dfs.ha.namenodes.ha': 'nn1' }), 'ha'),
    invalidConfig(/sets neither dfs\.namenode\.http-address\.ha\.nn1 nor dfs\.namenode\.rpc-address\.ha\.nn1/u),
  );
  assert.throws(
    () => resolveNameNodes(conf({ 'dfs.nameservices': 'ha', 'dfs.namenode.http-address.ha': 'not a/host' }), 'ha'),
    invalidConfig(/dfs\.namenode\.http-address\.ha .* is 'not a\/host', not host:port/u),
  );
  assert.throws(
    () => resolveNameNodes(conf({ 'dfs.nameservices': 'ha', 'dfs.namenode.http-address.ha': '0.0.0.0:9870' }), 'ha'),
    invalidConfig(/is the wildcard 0\.0\.0\.0:9870 and dfs\.namenode\.rpc-address\.ha is unset/u),
  );
});

test('loadHadoopConf reads core-site.xml then hdfs-site.xml, the later winning, and names a directory with neither', (t) => {
  const dir = confDir(t, {
    'core-site.xml': site({ 'fs.defaultFS': 'hdfs://ha', shared: 'core' }),
    'hdfs-site.xml': site({ shared: 'hdfs', 'dfs.nameservices': 'ha' }),
  });
  const loaded = loadHadoopConf(dir, {});
  assert.equal(loaded.get('fs.defaultFS'), 'hdfs://ha');
  assert.equal(loaded.get('shared'), 'hdfs');
  assert.deepEqual(loaded.files, [join(dir, 'core-site.xml'), join(dir, 'hdfs-site.xml')]);
  const empty = confDir(t, {});
  assert.throws(() => loadHadoopConf(empty, {}), invalidConfig(/has neither core-site\.xml nor hdfs-site\.xml; point it at the cluster's client configuration/u));
  assert.throws(() => loadHadoopConf(join(empty, 'missing'), {}), invalidConfig(/HADOOP_CONF_DIR=.*missing has neither/u));
  const broken = confDir(t, { 'hdfs-site.xml': '<configuration><property>' });
  assert.throws(() => loadHadoopConf(broken, {}), invalidConfig(/hdfs-site\.xml:1:\d+: not well-formed XML/u));
});

test('hdfs:// URLs resolve through HADOOP_CONF_DIR when no HTTP address is given, which wins when it is', (t) => {
  const dir = confDir(t, {
    'core-site.xml': site({ 'fs.defaultFS': 'hdfs://ha' }),
    'hdfs-site.xml': site({
      'dfs.nameservices': 'ha',
      'dfs.ha.namenodes.ha': 'nn1,nn2',
      'dfs.namenode.http-address.ha.nn1': '127.0.0.1:19870',
      'dfs.namenode.http-address.ha.nn2': '127.0.0.1:19871',
      'dfs.namenode.rpc-address': '127.0.0.2:8020',
      'dfs.namenode.http-address': '127.0.0.2:9870',
    }),
  });
  const ha = parseWebHdfsCluster('hdfs://ha/archive/*.ndjson', { env: { HADOOP_CONF_DIR: dir } });
  assert.deepEqual(ha.endpoints.map((e) => e.apiUrl), ['http://127.0.0.1:19870/webhdfs/v1', 'http://127.0.0.1:19871/webhdfs/v1']);
  assert.equal(formatClusterFileUrl(ha, '/archive/a.ndjson'), 'hdfs://ha/archive/a.ndjson', 'files keep the nameservice, so readers fail over too');
  const viaDefault = parseWebHdfsCluster('hdfs:///archive', { hadoopConfDir: dir, env: {} });
  assert.deepEqual(viaDefault.endpoints.map((e) => e.authority), ['127.0.0.1:19870', '127.0.0.1:19871']);
  assert.equal(formatClusterFileUrl(viaDefault, '/x'), 'hdfs://ha/x', 'hdfs:/// names the default nameservice in file URLs');
  const single = parseWebHdfsCluster('hdfs://127.0.0.2/archive', { env: { HADOOP_CONF_DIR: dir } });
  assert.equal(formatClusterFileUrl(single, '/x'), 'webhdfs://127.0.0.2:9870/x');
  const overridden = parseWebHdfsCluster('hdfs://ha/archive', { env: { HADOOP_CONF_DIR: dir, SLUICE_HDFS_HTTP_ADDRESS: 'other:9870' } });
  assert.deepEqual(overridden.endpoints.map((e) => e.authority), ['other:9870']);
  assert.throws(() => parseWebHdfsCluster('hdfs://nn:8020/x', { env: {} }), invalidConfig(/set HADOOP_CONF_DIR to the cluster's Hadoop client configuration, or SLUICE_HDFS_HTTP_ADDRESS/u));
  assert.throws(() => parseWebHdfsCluster('hdfs://unknown/x', { env: { HADOOP_CONF_DIR: dir } }), invalidConfig(/hdfs:\/\/unknown is neither a nameservice/u));
});
