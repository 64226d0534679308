using System.Text;
using Prox.Actors.Breaker;
using Prox.Actors.Health;
using Prox.Actors.Hocon;
using Prox.Actors.Recovery;

namespace Prox.Actors.Config;

/// <summary>
/// Writes a route's backends back as HOCON for the admin API's dynamic backends. A backend's <c>health</c>,
/// <c>breaker</c> and <c>recovery</c> blocks are written only where they differ from the route's, with every key,
/// so the merged result is exactly the backend's.
/// </summary>
/// <remarks>Extension members of <see cref="HoconWriter"/> (which knows no routes), so callers write
/// <c>HoconWriter.Backends(…)</c> beside <c>HoconWriter.Str(…)</c>.</remarks>
public static class BackendsHocon
{
    extension(HoconWriter)
    {
        /// <summary>
        /// Returns <paramref name="text"/> with route <paramref name="routeId"/>'s backends replaced by
        /// <paramref name="backendsHocon"/>: one marked block at the end of the text (replaced again by the next change,
        /// so repeated changes do not pile up). Later HOCON assignments win, so the file's own list is overridden.
        /// </summary>
        public static string WithBackends(string text, string routeId, string backendsHocon)
        {
            var marker = $"# prox:dynamic-backends {routeId}";
            var block = $"{marker} (written by the admin API; the last assignment wins)\nprox.routes.{HoconWriter.Str(routeId)}.backends = {backendsHocon}\n# prox:end {routeId}\n";
            var start = text.IndexOf(marker + " ", StringComparison.Ordinal);
            if (start >= 0)
            {
                var endMarker = $"# prox:end {routeId}\n";
                var end = text.IndexOf(endMarker, start, StringComparison.Ordinal);
                if (end >= 0) return text[..start] + block + text[(end + endMarker.Length)..];
            }
            var trimmed = text.TrimEnd();
            // a JSON file is one root object: the assignment has to go inside it
            if (trimmed.StartsWith('{') && trimmed.EndsWith('}'))
                return trimmed[..^1].TrimEnd() + "\n" + block + "}\n";
            return trimmed + "\n\n" + block;
        }

        /// <summary>The route's <c>backends</c> list as a HOCON array, optionally with more elements already written.</summary>
        public static string Backends(RouteConfig route, IEnumerable<BackendConfig> backends, params string[] extra)
        {
            var sb = new StringBuilder("[\n");
            foreach (var b in backends) sb.Append("  ").Append(HoconWriter.Backend(route, b)).Append('\n');
            foreach (var e in extra) sb.Append("  ").Append(e).Append('\n');
            return sb.Append(']').ToString();
        }

        /// <summary>One backend as a HOCON object, with only the blocks that differ from the route's.</summary>
        public static string Backend(RouteConfig route, BackendConfig b)
        {
            var sb = new StringBuilder("{ id = ").Append(HoconWriter.Str(b.Id)).Append(", url = ").Append(HoconWriter.Str(b.Url.OriginalString))
                .Append(", weight = ").Append(HoconWriter.Int(b.Weight));
            if (b.Timeout is { } t) sb.Append(", timeout = ").Append(HoconWriter.Duration(t));
            if (b.Drain) sb.Append(", drain = true");
            if (b.Health is { } h && !ConfigComparer.Same(h, route.Health)) sb.Append(", health ").Append(HealthConfigBinder.Write(h));
            if (b.Breaker is { } br && !ConfigComparer.Same(br, route.Breaker)) sb.Append(", breaker ").Append(BreakerConfigBinder.Write(br));
            if (b.Recovery is { } r && !ConfigComparer.Same(r, route.Recovery)) sb.Append(", recovery ").Append(RecoveryConfigBinder.Write(r));
            return sb.Append(" }").ToString();
        }
    }
}
