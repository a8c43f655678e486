import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { isStrataError } from '../../kernel/index.ts';
import {
  DOMAIN_PROOF_PATH,
  InProcessChain,
  OnchainIdentityDriver,
  agentRegistrationRoutes,
  domainProofUrl,
  judgeDomainProof,
  type RegistrationRef,
} from './index.ts';

const coded = (code: string) => (error: unknown) => isStrataError(error) && error.code === code;

describe('endpoint domain proof (/.well-known/agent-registration.json)', () => {
  it('a node serves its agents’ registrations; verifyDomain finds the agent there and not another', async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const chain = await InProcessChain.create();
    const deployed = await OnchainIdentityDriver.deploy({ chain, deployer: owner });
    const listed: RegistrationRef[] = [];
    const app = agentRegistrationRoutes({ registrations: () => listed });
    const fetched: string[] = [];
    // The domain's server answers in process: app.request, no socket.
    const driver = new OnchainIdentityDriver({
      chain,
      registry: deployed.registry,
      fetchRegistration: async (uri) => {
        fetched.push(uri);
        const response = await app.request(new URL(uri).pathname);
        return await response.json();
      },
    });
    const { agentId } = await driver.register({ account: owner, uri: 'https://node.example/a.json' });
    const { agentId: unlisted } = await driver.register({
      account: owner,
      uri: 'https://node.example/b.json',
    });
    listed.push({ agentId: Number(agentId), agentRegistry: driver.agentRegistry });

    const check = await driver.verifyDomain(agentId, 'node.example');
    assert.equal(check.ok, true, JSON.stringify(check));
    assert.equal((await driver.verifyDomain(unlisted, 'node.example')).ok, false);
    assert.deepEqual(fetched, [
      `https://node.example${DOMAIN_PROOF_PATH}`,
      `https://node.example${DOMAIN_PROOF_PATH}`,
    ]);

    await assert.rejects(driver.verifyDomain(404n, 'node.example'), coded('E_NOT_FOUND'));
    assert.equal(fetched.length, 2, 'an unknown agent is refused before any fetch');
    await assert.rejects(deployed.verifyDomain(agentId, 'node.example'), coded('E_ONCHAIN_URI_UNRESOLVED'));
  });

  it('a proof for the same id in another registry does not count', () => {
    const doc = {
      registrations: [{ agentId: 0, agentRegistry: 'eip155:1:0x8004A169FB4a3325136EB29fA0ceB6D2e539a432' }],
    };
    const check = judgeDomainProof(doc, {
      domain: 'd.example',
      agentId: 0n,
      agentRegistry: 'eip155:31337:0xabc',
    });
    assert.equal(check.ok, false);
    assert.equal(
      judgeDomainProof({ nope: true }, { domain: 'd.example', agentId: 0n, agentRegistry: 'x' }).ok,
      false,
    );
  });

  it('refuses anything but a bare domain name', () => {
    assert.equal(domainProofUrl('node.example'), 'https://node.example/.well-known/agent-registration.json');
    for (const bad of [
      'evil.example/x?',
      'user@node.example',
      'node.example:8443/..',
      '',
      'a b.example',
      'evil.example#',
    ]) {
      assert.throws(() => domainProofUrl(bad), coded('E_INVALID_INPUT'), bad);
    }
  });
});
