export default function LoginPage() {
  return (
    <main>
      <h1>Log in</h1>
      <p>The proxy sends every page here without a session cookie. The probes:</p>
      <ul>
        <li><a href="/healthcheck/liveness">/healthcheck/liveness</a></li>
        <li><a href="/healthcheck/readiness">/healthcheck/readiness</a></li>
        <li><a href="/healthcheck/integrations">/healthcheck/integrations</a></li>
        <li><a href="/edge/healthcheck/readiness">/edge/healthcheck/readiness</a> (edge runtime)</li>
      </ul>
    </main>
  );
}
