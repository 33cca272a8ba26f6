package mgmt

// deploymentRoutes is a placeholder until this resource group is implemented.
func (s *Server) deploymentRoutes() []route { return nil }
