package mgmt

// importRoutes is a placeholder until ImportRestApi / PutRestApi are implemented.
func (s *Server) importRoutes() []route { return nil }
