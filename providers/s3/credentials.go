package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// CredentialChain says which link of the AWS default credential chain
// supplied the credentials for profile ("": the default or AWS_PROFILE):
// "environment (AWS_ACCESS_KEY_ID)", "shared config file ~/.aws/credentials",
// "SSO", "instance role (IMDS)", … It retrieves them (the instance
// metadata service is asked last, within the context's deadline) and
// never returns the secret.
func CredentialChain(ctx context.Context, profile string) (string, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return "", fmt.Errorf("s3: load AWS configuration: %w", err)
	}
	if cfg.Credentials == nil {
		return "", errors.New("s3: no AWS credentials configured")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("s3: no AWS credentials found (environment, shared config and credentials files, SSO, web identity, container or instance role): %w", err)
	}
	return chainName(creds.Source), nil
}

// chainName turns the SDK's provider names into words.
func chainName(source string) string {
	switch {
	case source == awsconfig.CredentialsSourceName:
		return "environment (AWS_ACCESS_KEY_ID)"
	case strings.HasPrefix(source, "SharedConfigCredentials"):
		file := strings.TrimSpace(strings.TrimPrefix(source, "SharedConfigCredentials:"))
		if file == "" || file == "SharedConfigCredentials" {
			return "shared config (profile)"
		}
		return "shared config file " + file
	case source == "SSOProvider":
		return "SSO (aws sso login)"
	case source == "EC2RoleProvider":
		return "instance role (IMDS)"
	case source == "WebIdentityCredentials":
		return "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)"
	case source == "AssumeRoleProvider":
		return "assumed role (profile role_arn)"
	case source == "ProcessProvider":
		return "credential_process of the profile"
	case source == "CredentialsEndpointProvider":
		return "container credentials endpoint"
	case source == "StaticCredentials":
		return "static credentials"
	case source == "":
		return "the default chain"
	}
	return source
}
