using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Prox.Actors.Config;
using Prox.Http.Errors;
using Prox.Http.Runtime;

namespace Prox.Http.Admin;

/// <summary>Marks an endpoint as passing <see cref="AdminGate"/>; the gate and this marker are added together.</summary>
/// <param name="OpenForReads">GET and HEAD need no token (liveness probes of load balancers and orchestrators carry none).</param>
public sealed record AdminGuarded(bool OpenForReads = false);

/// <summary>
/// The admin plane's one access check, an endpoint filter on the group that holds every admin endpoint. GET and HEAD
/// need the read role, every other method the write role (<see cref="AdminAuth.RequiredRole"/>); without tokens
/// configured the plane is open (the binder allows that on loopback only). A missing or unknown token answers 401 with
/// <c>WWW-Authenticate</c>, a token without the role 403. Every mutating request is audited whatever its outcome,
/// refusals and failures included.
/// </summary>
public sealed class AdminGate(ProxRuntime rt, AdminAudit audit) : IEndpointFilter
{
    /// <summary>The metadata of an endpoint that needs a token for every method.</summary>
    public static readonly AdminGuarded Guarded = new();

    /// <summary>The metadata of an endpoint whose reads are open (<c>/healthz</c>, <c>/readyz</c>).</summary>
    public static readonly AdminGuarded OpenForReads = new(OpenForReads: true);

    /// <summary>Where the caller's name is left for endpoints that record who did something (config versions).</summary>
    public const string IdentityItem = "prox.admin.identity";

    /// <summary>The caller's admin identity, set by the gate; <c>anonymous</c> without it.</summary>
    public static string Author(HttpContext ctx) =>
        ctx.Items.TryGetValue(IdentityItem, out var v) && v is string { Length: > 0 } s ? s : "anonymous";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var ctx = context.HttpContext;
        var method = ctx.Request.Method;
        var required = AdminAuth.RequiredRole(method);
        // routing ignores case and a trailing slash; the admin paths never did, so anything else is unknown (404)
        var exact = ctx.GetEndpoint() is not RouteEndpoint e || AdminRouting.IsExact(e.RoutePattern, ctx.Request.Path.Value);
        if (required == AdminRole.Read)
            return (await AuthorizeAsync(ctx, required, exact)).Allowed ? await PassAsync(context, next, exact) : Results.Empty;

        var who = "unauthenticated";
        var threw = true;
        try
        {
            var (caller, allowed) = await AuthorizeAsync(ctx, required, exact);
            who = caller?.Name ?? who;
            var result = allowed ? await PassAsync(context, next, exact) : Results.Empty;
            threw = false;
            return result;
        }
        finally
        {
            // an exception is answered 500 by the host's boundary after this
            var status = threw && !ctx.Response.HasStarted ? StatusCodes.Status500InternalServerError : ctx.Response.StatusCode;
            audit.Record(new AuditEntry(audit.Time.GetUtcNow(), who, method,
                ctx.Request.Path.Value + ctx.Request.QueryString.Value, status,
                ctx.Connection.RemoteIpAddress?.ToString()));
        }
    }

    /// <summary>Runs the endpoint and, when it returns a result rather than writing one, executes it here so the
    /// audit sees the status it answered with.</summary>
    private static async ValueTask<object?> PassAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, bool exact)
    {
        if (!exact)
        {
            await AdminRouting.NotFoundAsync(context.HttpContext);
            return Results.Empty;
        }
        var result = await next(context);
        if (result is IResult r and not EmptyHttpResult)
        {
            await r.ExecuteAsync(context.HttpContext);
            return Results.Empty;
        }
        return result;
    }

    /// <summary>Who the caller is (null: unauthenticated) and whether it may make this request; when it may not,
    /// the 401 or 403 has been written.</summary>
    private async Task<(AdminCaller? Caller, bool Allowed)> AuthorizeAsync(HttpContext ctx, AdminRole required, bool exact)
    {
        var (caller, allowed) = await CheckAsync(ctx, required, exact);
        if (caller is not null) ctx.Items[IdentityItem] = caller.Name;
        return (caller, allowed);
    }

    private async Task<(AdminCaller? Caller, bool Allowed)> CheckAsync(HttpContext ctx, AdminRole required, bool exact)
    {
        var tokens = rt.Config.Admin.Tokens;
        if (tokens.IsEmpty) return (AdminCaller.AnonymousLoopback, true); // the binder allows no tokens on loopback only
        if (required == AdminRole.Read && exact && ctx.GetEndpoint()?.Metadata.GetMetadata<AdminGuarded>() is { OpenForReads: true })
            return (null, true);

        var header = ctx.Request.Headers.Authorization.ToString();
        if (AdminAuth.Authenticate(header.Length == 0 ? null : header, tokens) is not { } caller)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status401Unauthorized, "Unauthorized",
                header.Length == 0
                    ? "The admin API needs a token: Authorization: Bearer <token>."
                    : "The token is not valid.",
                headers: ("WWW-Authenticate", header.Length == 0 ? "Bearer realm=\"prox-admin\"" : "Bearer realm=\"prox-admin\", error=\"invalid_token\""));
            return (null, false);
        }
        if (!AdminAuth.Allows(caller.Role, required))
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status403Forbidden, "Forbidden",
                $"Token '{caller.Name}' has the {RoleName(caller.Role)} role; {ctx.Request.Method} needs {RoleName(required)}.");
            return (caller, false);
        }
        return (caller, true);
    }

    private static string RoleName(AdminRole role) => role == AdminRole.Write ? "write" : "read";
}
