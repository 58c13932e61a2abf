export default function HomePage() {
  return (
    <main>
      <h1>Signed in</h1>
    </main>
  );
}
