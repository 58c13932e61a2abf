import { NextResponse, type NextRequest } from "next/server";
import { withLiveness } from "probekit/middleware";

/**
 * The app's own proxy: every page needs a session cookie, or it is sent to /login.
 * Health routes and the metrics route are public; liveness never gets here, withLiveness answers it first.
 */
function requireSession(request: NextRequest) {
  const { pathname } = request.nextUrl;
  const isPublic = pathname === "/login" || pathname === "/metrics" || pathname.startsWith("/healthcheck/") || pathname.startsWith("/edge/healthcheck/");
  if (isPublic || request.cookies.has("session")) return NextResponse.next();
  return NextResponse.redirect(new URL("/login", request.url));
}

export default withLiveness(requireSession);

export const config = {
  matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"],
};
