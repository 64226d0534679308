using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

using Prox.Http.Cache;
using Prox.Http.Runtime;

namespace Prox.Http.Admin;

/// <summary>
/// The admin listener's routing table: <c>/healthz</c>, <c>/readyz</c>, <c>/status</c> and everything under <c>/admin</c>, each
/// capability mapped by its own class. Every endpoint sits in one group that carries <see cref="AdminGate"/> (token,
/// role by method, audit of mutating requests), so an endpoint added later cannot forget either. A last-resort
/// endpoint in the same group answers unknown paths (404) and known paths asked with another method (405 with the
/// <c>Allow</c> the table gives), so those refusals are authenticated and audited too, as before.
/// </summary>
public static class AdminEndpoints
{
    /// <summary>Prox's version as <c>/status</c> and <c>prox --version</c> show it (without the commit hash).</summary>
    public static string Version { get; } =
        typeof(AdminEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    /// <summary>How long an admin endpoint waits for an actor's answer before it answers 503.</summary>
    internal static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Methods of the endpoints that only read: HEAD answers like GET, without the body.</summary>
    internal static readonly string[] Read = [HttpMethods.Get, HttpMethods.Head];

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // read by people and tools, never embedded in HTML: keep '+', '"' and '<' readable in config texts and diffs
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Maps the admin plane on <paramref name="endpoints"/> (the admin listener's own route builder: the proxy
    /// listener never routes). Services come from its provider: <see cref="ProxRuntime"/>, <see cref="AdminAudit"/>,
    /// <see cref="IConfigReloader"/> and, in cluster mode only, <see cref="IClusterStatus"/>.
    /// </summary>
    /// <returns>The group every admin endpoint is in.</returns>
    public static RouteGroupBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var sp = endpoints.ServiceProvider;
        var rt = sp.GetRequiredService<ProxRuntime>();
        var audit = sp.GetRequiredService<AdminAudit>();
        var reloader = sp.GetRequiredService<IConfigReloader>();

        var root = endpoints.MapGroup("").AddEndpointFilter(new AdminGate(rt, audit)).WithMetadata(AdminGate.Guarded);
        var responses = sp.GetRequiredService<ResponseCache>();
        // absent outside a host (then nothing drains): /readyz only reports start-up
        var stopping = sp.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        new StatusEndpoints(rt, responses, reloader, sp.GetService<IClusterStatus>(), sp.GetService<Tls.CertificateStore>(), stopping).Map(root);
        var admin = root.MapGroup("/admin");
        new EventsEndpoints(rt, audit).Map(admin);
        new ChaosEndpoints(rt).Map(admin);
        new ConfigEndpoints(rt, reloader).Map(admin);
        new BackendsEndpoints(rt, reloader).Map(admin);
        CacheAdmin.Map(admin, responses);

        // below every other endpoint whatever the method, so routing never answers on its own (its 405 has no body)
        root.Map("/{**path}", AdminRouting.NotFoundOrNotAllowed(endpoints.DataSources))
            .WithOrder(int.MaxValue)
            .WithDisplayName("admin: unknown path or method");
        return root;
    }

    /// <summary>Writes <paramref name="body"/> as the admin plane's JSON (camelCase, nulls left out, not cached);
    /// HEAD gets the headers only.</summary>
    internal static async Task WriteJsonAsync<T>(HttpContext ctx, T body)
    {
        ctx.Response.ContentType = "application/json; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-store";
        if (HttpMethods.IsHead(ctx.Request.Method)) return;
        await JsonSerializer.SerializeAsync(ctx.Response.Body, body, Json, ctx.RequestAborted);
    }
}
