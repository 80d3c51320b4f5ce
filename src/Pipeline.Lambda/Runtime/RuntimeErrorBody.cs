using System.Text.Json.Serialization;

namespace Pipeline.Lambda.Runtime;

/// <summary>
/// The error document of the Runtime API (<c>/invocation/{id}/error</c> and <c>/init/error</c>):
/// <c>{"errorMessage","errorType","stackTrace"?}</c>. Stands in for RuntimeSupport's ExceptionInfo serialization
/// (package Amazon.Lambda.RuntimeSupport).
/// </summary>
public sealed record RuntimeErrorBody(
    [property: JsonPropertyName("errorMessage")] string ErrorMessage,
    [property: JsonPropertyName("errorType")] string ErrorType,
    [property: JsonPropertyName("stackTrace")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<string>? StackTrace = null)
{
    public static RuntimeErrorBody From(Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        string[]? stack = ex.StackTrace?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new RuntimeErrorBody(ex.Message, ex.GetType().Name, stack);
    }
}
